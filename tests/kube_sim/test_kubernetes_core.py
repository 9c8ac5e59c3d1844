"""Real kubernetes.core tasks (k8s, k8s_info, apply, server-side apply, wait, k8s_taint, k8s_drain)
run by ansible-playbook against the simulator, exactly as the collection's roles run them."""

from __future__ import annotations

import copy

import pytest


def deployment(namespace: str, replicas: int = 1, port=7860) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace, "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "registry.lab.invalid/web:1.0",
                                                       "ports": [{"containerPort": port}],
                                                       "env": [{"name": "MODE", "value": "a"}]}]}}},
    }


def test_k8s_lifecycle_is_idempotent_and_refuses_bad_objects(kube_sim, run_tasks):
    ns = "kcore-lifecycle"
    dep = deployment(ns)
    bad = deployment(ns, port="7860")
    bad["metadata"]["name"] = "bad"
    scaled = copy.deepcopy(dep)
    scaled["spec"]["replicas"] = 2
    # GPU nodes are tainted and none advertises GPUs until a device plugin runs: this can never become ready.
    gpu = deployment(ns)
    gpu["metadata"]["name"] = "gpu"
    gpu["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": 1}}
    k8s = "kubernetes.core.k8s"
    results = run_tasks(kube_sim, [
        {"name": "create namespace", k8s: {"kind": "Namespace", "name": ns}},
        {"name": "create deployment", k8s: {"definition": dep, "wait": True, "wait_timeout": 30, "wait_sleep": 1}},
        {"name": "present again", k8s: {"definition": dep}},
        {"name": "client apply", k8s: {"definition": dep, "apply": True}},
        {"name": "client apply again", k8s: {"definition": dep, "apply": True}},
        {"name": "server apply", k8s: {"definition": dep, "apply": True, "server_side_apply": {"field_manager": "hymt"}}},
        {"name": "server apply again", k8s: {"definition": dep, "apply": True, "server_side_apply": {"field_manager": "hymt"}}},
        {"name": "server apply by another manager", k8s: {"definition": scaled, "apply": True,
                                                          "server_side_apply": {"field_manager": "intruder"}},
         "ignore_errors": True},
        {"name": "forced apply by another manager", k8s: {"definition": scaled, "apply": True, "wait": True, "wait_timeout": 30, "wait_sleep": 1,
                                                          "server_side_apply": {"field_manager": "intruder", "force_conflicts": True}}},
        {"name": "string port", k8s: {"definition": bad}, "ignore_errors": True},
        {"name": "list pods", "kubernetes.core.k8s_info": {"kind": "Pod", "namespace": ns, "label_selectors": ["app=web"]}},
        {"name": "remove deployment", k8s: {"definition": dep, "state": "absent", "wait": True, "wait_timeout": 30, "wait_sleep": 1}},
        {"name": "remove again", k8s: {"definition": dep, "state": "absent"}},
        {"name": "create gpu deployment", k8s: {"definition": gpu, "wait": True, "wait_timeout": 3, "wait_sleep": 1},
         "ignore_errors": True},
        {"name": "remove namespace", k8s: {"kind": "Namespace", "name": ns, "state": "absent", "wait": True, "wait_sleep": 1}},
    ])
    assert results["create namespace"]["changed"] is True
    created = results["create deployment"]
    assert created["changed"] is True
    assert created["result"]["status"]["availableReplicas"] == 1
    assert results["present again"]["changed"] is False
    assert results["client apply"]["changed"] is True  # adds the last-applied annotation
    assert results["client apply again"]["changed"] is False
    assert results["server apply"]["changed"] is True  # hymt becomes a field manager
    assert results["server apply again"]["changed"] is False
    conflict = results["server apply by another manager"]
    assert conflict["failed"] is True
    assert "409" in conflict["msg"] or "Conflict" in conflict["msg"]
    assert ".spec.replicas" in conflict["msg"]
    forced = results["forced apply by another manager"]
    assert forced["changed"] is True and forced["result"]["spec"]["replicas"] == 2
    assert forced["result"]["status"]["readyReplicas"] == 2
    refused = results["string port"]
    assert refused["failed"] is True
    assert "spec.template.spec.containers[0].ports[0].containerPort" in refused["msg"]
    assert "422" in refused["msg"] or "Invalid" in refused["msg"]
    pods = results["list pods"]["resources"]
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    assert results["remove deployment"]["changed"] is True
    assert results["remove again"]["changed"] is False
    waited = results["create gpu deployment"]
    assert waited["failed"] is True and "timed out" in waited["msg"].lower()
    assert results["remove namespace"]["changed"] is True
    client = kube_sim.dynamic_client()
    assert not [n for n in client.resources.get(api_version="v1", kind="Namespace").get().items if n.metadata.name == ns]


@pytest.fixture
def drain_sim(kube_sim_factory, tmp_path):
    seed = tmp_path / "nodes.yaml"
    seed.write_text(
        "nodes:\n"
        "  - {name: worker-a, cpu: '4', memory: 8Gi}\n"
        "  - {name: worker-b, cpu: '4', memory: 8Gi}\n")
    return kube_sim_factory("--nodes", str(seed))


def test_taint_and_drain_move_pods_off_a_node(drain_sim, run_tasks):
    dep = deployment("default", replicas=2)
    dep["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "worker-a"}
    free = deployment("default", replicas=2)
    free["metadata"]["name"] = "free"
    free["spec"]["selector"]["matchLabels"] = {"app": "free"}
    free["spec"]["template"]["metadata"]["labels"] = {"app": "free"}
    taint = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    results = run_tasks(drain_sim, [
        {"name": "taint worker-b", "kubernetes.core.k8s_taint": {"name": "worker-b", "taints": taint}},
        {"name": "pinned deployment", "kubernetes.core.k8s": {"definition": dep, "wait": True, "wait_timeout": 30, "wait_sleep": 1}},
        {"name": "free deployment", "kubernetes.core.k8s": {"definition": free, "wait": True, "wait_timeout": 30, "wait_sleep": 1}},
        {"name": "untaint worker-b", "kubernetes.core.k8s_taint": {"name": "worker-b", "state": "absent", "taints": taint}},
        {"name": "drain worker-a", "kubernetes.core.k8s_drain": {
            "name": "worker-a", "delete_options": {"ignore_daemonsets": True, "wait_timeout": 30, "wait_sleep": 1, "force": True}}},
    ])
    assert results["taint worker-b"]["changed"] is True
    # While worker-b was tainted, both Deployments had to share worker-a.
    assert results["free deployment"]["result"]["status"]["availableReplicas"] == 2
    assert results["untaint worker-b"]["changed"] is True
    assert results["drain worker-a"]["changed"] is True
    client = drain_sim.dynamic_client()
    assert client.resources.get(api_version="v1", kind="Node").get(name="worker-a").spec.unschedulable is True
    pods = client.resources.get(api_version="v1", kind="Pod")

    def moved():
        found = pods.get(namespace="default").items
        free_nodes = sorted(p.spec.nodeName or "" for p in found if p.metadata.labels["app"] == "free")
        return free_nodes == ["worker-b", "worker-b"] and found
    found = drain_sim.wait_for(moved, what="the free pods to be rescheduled on worker-b")
    # The pinned pods can go nowhere else: they wait, unscheduled, instead of looking healthy.
    pinned = [p for p in found if p.metadata.labels["app"] == "web"]
    assert len(pinned) == 2 and all(p.status.phase == "Pending" and not p.spec.nodeName for p in pinned)
    # Reset brings the seeded cluster back: no workloads, every node schedulable again.
    drain_sim.reset()
    assert pods.get(namespace="default").items == []
    assert not client.resources.get(api_version="v1", kind="Node").get(name="worker-a").spec.unschedulable
