"""hymt.gpu_mesh.k8s_node_drain against the lab's upstream API server, whose disruption controller and
eviction API decide: a PodDisruptionBudget that forbids an eviction makes a pass wait, not fail, where
kubernetes.core.k8s_drain gives up at once (the failure that ended rolling upgrades before)."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import node_drain
from ansible_collections.hymt.gpu_mesh.plugins.modules import k8s_node_drain
from ansible_collections.kubernetes.core.plugins.modules import k8s_drain

SEED = {"nodes": [{"name": "node-a"}, {"name": "node-b"}]}
NS = "drain-test"


@pytest.fixture(scope="module")
def cluster(lab_cluster_factory, tmp_path_factory):
    seed = tmp_path_factory.mktemp("seed") / "nodes.yaml"
    seed.write_text(yaml.safe_dump(SEED))
    lab = lab_cluster_factory(nodes=seed, pod_ready_seconds=2)
    client = lab.dynamic_client()
    nodes = client.resources.get(api_version="v1", kind="Node")
    # Both replicas start on node-a: node-b is cordoned while they are scheduled.
    nodes.patch(name="node-b", body={"spec": {"unschedulable": True}}, content_type="application/merge-patch+json")
    client.resources.get(api_version="v1", kind="Namespace").create(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    labels = {"app": "web"}
    client.resources.get(api_version="apps/v1", kind="Deployment").create(namespace=NS, body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": "registry.example.internal/web:1"}]}}}})
    client.resources.get(api_version="policy/v1", kind="PodDisruptionBudget").create(namespace=NS, body={
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}})
    pdbs = client.resources.get(api_version="policy/v1", kind="PodDisruptionBudget")
    lab.wait_for(lambda: (pdbs.get(name="web", namespace=NS).to_dict().get("status") or {}).get("disruptionsAllowed") == 1,
                 what="both replicas Ready and counted by the disruption controller")
    nodes.patch(name="node-b", body={"spec": {"unschedulable": None}}, content_type="application/merge-patch+json")
    return lab


def run(run_module, cluster, **args):
    return run_module(k8s_node_drain.main, {"kubeconfig": cluster.kubeconfig, "name": "node-a", **args})


def test_a_budget_makes_the_drain_wait_where_k8s_drain_fails(cluster, run_module):
    first = run(run_module, cluster, settle_timeout=0)
    assert first.kind == "exit", first.result
    assert first.result["done"] is False and first.result["changed"] is True
    assert len(first.result["evicted"]) == 1 and len(first.result["blocked"]) == 1
    assert first.result["workloads"] == ["Deployment/%s/web" % NS]
    assert "its eviction would break PodDisruptionBudget %s/web (1 of 2 pods healthy, 1 needed, 0 disruptions allowed)" % NS \
        in first.result["msg"]

    # The same moment for kubernetes.core.k8s_drain: the 429 ends it (and the play with it).
    upstream = run_module(k8s_drain.main, {"kubeconfig": cluster.kubeconfig, "name": "node-a", "state": "drain",
                                           "delete_options": {"ignore_daemonsets": True, "wait_timeout": 5}})
    assert upstream.kind == "fail"
    assert "Cannot evict pod as it would violate the pod's disruption budget" in upstream.result["msg"]

    # Retried, as a task's until loop does: the replacement becomes Ready on node-b, the budget allows
    # the second eviction, the node empties.
    def drained():
        result = run(run_module, cluster, settle_timeout=5)
        return result if result.result["done"] else None

    outcome = cluster.wait_for(drained, timeout=60, what="node-a to be drained")
    assert outcome.result["blocked"] == []
    node = cluster.dynamic_client().resources.get(api_version="v1", kind="Node").get(name="node-a").to_dict()
    assert node["spec"]["unschedulable"] is True
    assert node_drain.recorded_workloads(node) == ["Deployment/%s/web" % NS]
    again = run(run_module, cluster)
    assert (again.result["done"], again.result["changed"]) == (True, False)


def test_uncordon_then_the_moved_workload_is_available_and_forgotten(cluster, run_module):
    out = run(run_module, cluster, state="uncordon")
    assert out.result["changed"] is True

    def back():
        result = run(run_module, cluster, state="available")
        return result if result.result["done"] else None

    available = cluster.wait_for(back, timeout=60, what="the moved Deployment to be available")
    assert available.result["changed"] is True and available.result["workloads"] == ["Deployment/%s/web" % NS]
    node = cluster.dynamic_client().resources.get(api_version="v1", kind="Node").get(name="node-a").to_dict()
    assert node_drain.ANNOTATION_WORKLOADS not in (node["metadata"].get("annotations") or {})
    assert run(run_module, cluster, state="uncordon").result["changed"] is False


def test_unknown_node_fails_clearly(cluster, run_module):
    out = run_module(k8s_node_drain.main, {"kubeconfig": cluster.kubeconfig, "name": "node-z"})
    assert out.kind == "fail" and out.result["msg"] == "node node-z is not registered with the cluster"
