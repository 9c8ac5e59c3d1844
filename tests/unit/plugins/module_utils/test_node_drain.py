"""node_drain's rules with a fake cluster: what is evicted, what is left alone, what blocks, what is waited for."""

from __future__ import annotations

import json

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import node_drain


def pod(name, owner_kind=None, owner=None, namespace="ns", labels=None, volumes=None, phase="Running", deleting=False):
    meta = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner_kind:
        meta["ownerReferences"] = [{"kind": owner_kind, "name": owner or name + "-owner", "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    return {"metadata": meta, "spec": {"volumes": volumes or []}, "status": {"phase": phase}}


class FakeCluster:
    def __init__(self, pods, pdbs=(), blocked=(), unschedulable=False, annotations=None, workloads=None):
        self.pods = list(pods)
        self.budgets = list(pdbs)
        self.blocked = set(blocked)
        self.node_obj = {"metadata": {"name": "n1", "annotations": dict(annotations or {})},
                         "spec": {"unschedulable": unschedulable}}
        self.workloads = workloads or {}
        self.calls = []

    def node(self, name):
        return self.node_obj if name == "n1" else None

    def cordon(self, name, workloads):
        self.calls.append(("cordon", tuple(workloads)))
        self.node_obj["spec"]["unschedulable"] = True
        self.node_obj["metadata"]["annotations"][node_drain.ANNOTATION_WORKLOADS] = json.dumps(workloads)

    def forget_workloads(self, name):
        self.calls.append(("forget",))
        self.node_obj["metadata"]["annotations"].pop(node_drain.ANNOTATION_WORKLOADS, None)

    def pods_on(self, name):
        return list(self.pods)

    def evict(self, p):
        key = node_drain.pod_key(p)
        self.calls.append(("evict", key))
        if key in self.blocked:
            return "blocked"
        self.pods.remove(p)
        return "evicted"

    def pdbs(self, namespaces):
        return [b for b in self.budgets if b["metadata"]["namespace"] in namespaces]

    def replicaset_owner(self, namespace, name):
        return {"kind": "Deployment", "name": name.rsplit("-", 1)[0], "controller": True}

    def workload(self, kind, namespace, name):
        return self.workloads.get("%s/%s/%s" % (kind, namespace, name))

    def unschedulable_pods(self, namespace, selector):
        return ["web-new: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."]


def budget(name="web", healthy=2, desired=2, allowed=0, expected=3):
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}},
            "status": {"currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed,
                       "expectedPods": expected}}


def test_daemonset_and_mirror_pods_stay_and_an_unmanaged_pod_stops_the_drain_before_any_eviction():
    mirror = pod("static")
    mirror["metadata"]["annotations"] = {node_drain.MIRROR_ANNOTATION: "x"}
    cluster = FakeCluster([pod("plugin", "DaemonSet"), mirror, pod("web-abc", "ReplicaSet", "web-5d8"), pod("loose")])
    with pytest.raises(node_drain.DrainError) as refused:
        node_drain.drain_pass(cluster, "n1")
    assert "ns/loose has no controller" in str(refused.value) and "force" in str(refused.value)
    assert cluster.calls == []  # nothing cordoned, nothing evicted

    result = node_drain.drain_pass(cluster, "n1", force=True)
    assert result["ignored"] == ["ns/plugin", "ns/static"]
    assert result["evicted"] == ["ns/web-abc", "ns/loose"]
    assert result["workloads"] == ["Deployment/ns/web"]
    assert result["done"] is False  # evicted pods still have to go
    assert node_drain.drain_pass(cluster, "n1", force=True)["done"] is True


def test_emptydir_data_needs_consent():
    cluster = FakeCluster([pod("cache-1", "ReplicaSet", "cache-7f", volumes=[{"name": "tmp", "emptyDir": {}}])])
    with pytest.raises(node_drain.DrainError, match=r"emptyDir data that eviction deletes \(delete_emptydir_data allows it\)"):
        node_drain.drain_pass(cluster, "n1")
    assert node_drain.drain_pass(cluster, "n1", delete_emptydir_data=True)["evicted"] == ["ns/cache-1"]


def test_a_budget_that_refuses_is_a_wait_naming_the_budget_not_a_failure():
    web = [pod("web-%d" % i, "ReplicaSet", "web-5d8", labels={"app": "web"}) for i in range(2)]
    cluster = FakeCluster(web, pdbs=[budget()], blocked={"ns/web-1"})
    result = node_drain.drain_pass(cluster, "n1")
    assert result["done"] is False
    assert result["evicted"] == ["ns/web-0"] and result["blocked"] == ["ns/web-1"]
    assert result["reasons"] == ["ns/web-1: its eviction would break PodDisruptionBudget ns/web "
                                 "(2 of 3 pods healthy, 2 needed, 0 disruptions allowed)"]
    cluster.blocked.clear()
    node_drain.drain_pass(cluster, "n1")
    assert node_drain.drain_pass(cluster, "n1")["done"] is True
    # Cordoned once; the record of what ran there survives the passes.
    assert [c for c in cluster.calls if c[0] == "cordon"] == [("cordon", ("Deployment/ns/web",))]


def test_check_mode_writes_nothing_and_reports_the_plan():
    cluster = FakeCluster([pod("web-0", "ReplicaSet", "web-5d8")])
    result = node_drain.drain_pass(cluster, "n1", check_mode=True)
    assert result["changed"] is True and result["done"] is True and result["evicted"] == ["ns/web-0"]
    assert cluster.calls == []


def test_an_already_drained_node_reports_no_change():
    cluster = FakeCluster([pod("plugin", "DaemonSet")], unschedulable=True,
                          annotations={node_drain.ANNOTATION_WORKLOADS: "[]"})
    result = node_drain.drain_pass(cluster, "n1")
    assert (result["changed"], result["done"], result["was_cordoned"]) == (False, True, True)


def test_availability_waits_for_the_recorded_workloads_and_budgets_then_forgets_them():
    annotations = {node_drain.ANNOTATION_WORKLOADS: json.dumps(["Deployment/ns/web", "Deployment/ns/gone"])}
    deployment = {"metadata": {"generation": 2}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
                  "status": {"observedGeneration": 2, "availableReplicas": 2, "updatedReplicas": 3}}
    cluster = FakeCluster([], pdbs=[budget()], annotations=annotations,
                          workloads={"Deployment/ns/web": deployment})
    result = node_drain.availability(cluster, "n1")
    assert result["done"] is False and result["changed"] is False
    assert result["waiting"] == ["Deployment/ns/web"]
    assert result["reasons"] == ["Deployment/ns/web: 2 of 3 replicas available; pending: "
                                 "web-new: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."]
    deployment["status"]["availableReplicas"] = 3
    cluster.budgets = [budget(healthy=1, desired=2)]
    assert node_drain.availability(cluster, "n1")["waiting"] == ["PodDisruptionBudget/ns/web"]
    cluster.budgets = [budget(healthy=3, desired=2, allowed=1)]
    result = node_drain.availability(cluster, "n1")
    assert (result["done"], result["changed"]) == (True, True)
    assert cluster.calls[-1] == ("forget",)
    assert node_drain.availability(cluster, "n1")["changed"] is False


@pytest.mark.parametrize("selector, labels, expected", [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, {"tier": "b"}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {"tier": "a"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True),
    ({}, {"app": "web"}, True),
    (None, {"app": "web"}, False),
])
def test_label_selectors(selector, labels, expected):
    assert node_drain.selector_matches(selector, labels) is expected
