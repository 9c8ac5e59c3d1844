"""Simulated controllers: DaemonSet placement, the NVIDIA device plugin's advertised GPUs, the
scheduler's refusals, Jobs and evictions. The simulator must never make a bad plan look good."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

GPU_SEED = """\
nodes:
  - {name: cp, control_plane: true, cpu: "4", memory: 8Gi,
     taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]}
  - {name: gpu-a, gpus: 1, labels: {nvidia.com/gpu.present: "true"},
     taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]}
  - {name: gpu-b, gpus: 2, labels: {nvidia.com/gpu.present: "true"},
     taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]}
  - {name: gpu-bad, gpus: 1, labels: {nvidia.com/gpu.present: "true"}, device_plugin: crashloop,
     device_plugin_message: "nvml error: driver/library version mismatch",
     taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]}
  - {name: cpu-a, cpu: "8", memory: 16Gi}
"""
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def gpu_sim(kube_sim_factory, tmp_path_factory):
    seed = tmp_path_factory.mktemp("seed") / "nodes.yaml"
    seed.write_text(GPU_SEED)
    return kube_sim_factory("--nodes", str(seed))


def res(client, api_version, kind):
    return client.resources.get(api_version=api_version, kind=kind)


def daemonset(name: str, image: str, pod_spec: dict | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": image}], **(pod_spec or {})}}}}


def gpu_deployment(name: str, replicas: int, gpus: int, resource: str = "nvidia.com/gpu") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"tolerations": [GPU_TOLERATION],
                                           "containers": [{"name": "mt", "image": "registry.lab.invalid/hy-mt:1",
                                                           "resources": {"limits": {resource: gpus}}}]}}}}


def plugin_config(replicas: int, rename: bool = False) -> str:
    return ("version: v1\nflags:\n  migStrategy: none\nsharing:\n  timeSlicing:\n"
            f"    renameByDefault: {str(rename).lower()}\n    resources:\n      - name: nvidia.com/gpu\n        replicas: {replicas}\n")


def gpu_allocatable(client) -> dict[str, dict]:
    return {n.metadata.name: {k: v for k, v in n.status.allocatable.items() if k.startswith("nvidia.com/")}
            for n in res(client, "v1", "Node").get().items}


def test_daemonset_desired_count_follows_selectors_and_taints(gpu_sim):
    client = gpu_sim.dynamic_client()
    daemonsets = res(client, "apps/v1", "DaemonSet")
    cases = {
        "plain": ({}, 1),  # only cpu-a: the others carry NoSchedule taints
        "gpu-only": ({"tolerations": [GPU_TOLERATION], "nodeSelector": {"nvidia.com/gpu.present": "true"}}, 3),
        "gpu-affinity": ({"tolerations": [GPU_TOLERATION], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-a", "gpu-b", "cpu-a"]}]}]}}}}, 3),
        "everywhere": ({"tolerations": [{"operator": "Exists"}]}, 5),
    }
    for name, (spec, _want) in cases.items():
        daemonsets.create(body=daemonset(name, "registry.lab.invalid/agent:1", spec), namespace="default")

    def converged():
        found = {d.metadata.name: d.status for d in daemonsets.get(namespace="default").items}
        return all(found[n] and found[n].desiredNumberScheduled == want and found[n].numberReady == want
                   for n, (_spec, want) in cases.items()) and found
    gpu_sim.wait_for(converged, what="the DaemonSets to converge")
    pods = res(client, "v1", "Pod").get(namespace="default", label_selector="app=gpu-only").items
    assert sorted(p.spec.nodeName for p in pods) == ["gpu-a", "gpu-b", "gpu-bad"]
    for name in cases:
        daemonsets.delete(name=name, namespace="default")


def test_gpus_are_advertised_only_while_the_device_plugin_runs(gpu_sim):
    client = gpu_sim.dynamic_client()
    ns = "kube-system"
    deployments, pods = res(client, "apps/v1", "Deployment"), res(client, "v1", "Pod")
    assert all(not v for v in gpu_allocatable(client).values())

    # Before any device plugin runs no node has a GPU to give: the pod waits, with the scheduler's reason.
    deployments.create(body=gpu_deployment("early", 1, 1), namespace=ns)

    def unschedulable():
        found = pods.get(namespace=ns, label_selector="app=early").items
        cond = [c for p in found for c in (p.status.conditions or []) if c.type == "PodScheduled"]
        return cond and cond[0].status == "False" and cond[0]
    cond = gpu_sim.wait_for(unschedulable, what="the GPU pod to be refused")
    assert cond.reason == "Unschedulable" and "Insufficient nvidia.com/gpu" in cond.message
    events = res(client, "v1", "Event").get(namespace=ns).items
    assert any(e.reason == "FailedScheduling" and e.involvedObject.kind == "Pod" for e in events)

    configmaps, daemonsets = res(client, "v1", "ConfigMap"), res(client, "apps/v1", "DaemonSet")
    configmaps.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plugin-config"},
                            "data": {"config.yaml": plugin_config(4)}}, namespace=ns)
    plugin = daemonset("nvidia-device-plugin", "nvcr.io/nvidia/k8s-device-plugin:v0.17.1", {
        "tolerations": [GPU_TOLERATION], "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "volumes": [{"name": "config", "configMap": {"name": "plugin-config"}}]})
    container = plugin["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "CONFIG_FILE", "value": "/config/config.yaml"}]
    container["volumeMounts"] = [{"name": "config", "mountPath": "/config"}]
    daemonsets.create(body=plugin, namespace=ns)

    want = {"cp": {}, "gpu-a": {"nvidia.com/gpu": "4"}, "gpu-b": {"nvidia.com/gpu": "8"}, "gpu-bad": {}, "cpu-a": {}}
    gpu_sim.wait_for(lambda: gpu_allocatable(client) == want, what=f"allocatable GPUs {want}")

    def crash_looping():
        found = [p for p in pods.get(namespace=ns, label_selector="app=nvidia-device-plugin").items if p.spec.nodeName == "gpu-bad"]
        status = found and found[0].status.containerStatuses
        return status and status[0].state.waiting and status[0].restartCount >= 2 and status[0]
    bad = gpu_sim.wait_for(crash_looping, what="the failing plugin to crash-loop")
    assert bad.state.waiting.reason == "CrashLoopBackOff" and bad.ready is False
    assert "driver/library version mismatch" in bad.lastState.terminated.message
    plugin_status = daemonsets.get(name="nvidia-device-plugin", namespace=ns).status
    assert plugin_status.desiredNumberScheduled == 3 and plugin_status.numberReady == 2

    # The waiting pod now fits a node that advertises GPUs.
    gpu_sim.wait_for(lambda: (deployments.get(name="early", namespace=ns).status.availableReplicas or 0) == 1,
                     what="the early GPU Deployment to become available")

    # Time-slicing with renameByDefault advertises nvidia.com/gpu.shared instead.
    configmaps.patch(name="plugin-config", namespace=ns, body={"data": {"config.yaml": plugin_config(2, rename=True)}},
                     content_type="application/merge-patch+json")
    want = {"cp": {}, "gpu-a": {"nvidia.com/gpu.shared": "2"}, "gpu-b": {"nvidia.com/gpu.shared": "4"}, "gpu-bad": {}, "cpu-a": {}}
    gpu_sim.wait_for(lambda: gpu_allocatable(client) == want, what=f"allocatable GPUs {want}")

    # More GPUs than the cluster has: some pods run, the rest stay Pending and the Deployment unavailable.
    deployments.create(body=gpu_deployment("too-many", 7, 1, "nvidia.com/gpu.shared"), namespace=ns)
    deployments.create(body=gpu_deployment("too-big", 1, 5, "nvidia.com/gpu.shared"), namespace=ns)

    def settled():
        many = deployments.get(name="too-many", namespace=ns).status
        return many and many.readyReplicas == 6 and many
    many = gpu_sim.wait_for(settled, what="six of seven GPU pods to run")
    gpu_sim.admin("POST", "/_sim/reconcile")
    many = deployments.get(name="too-many", namespace=ns).status
    assert many.unavailableReplicas == 1 and many.availableReplicas == 6
    big = deployments.get(name="too-big", namespace=ns).status
    assert big.unavailableReplicas == 1 and not big.availableReplicas
    assert [c.status for c in big.conditions if c.type == "Available"] == ["False"]
    pending = [p for p in pods.get(namespace=ns).items if p.status.phase == "Pending"]
    assert len(pending) == 2
    assert all("Insufficient nvidia.com/gpu.shared" in p.status.conditions[0].message for p in pending)

    # Without the plugin the nodes stop advertising GPUs.
    daemonsets.delete(name="nvidia-device-plugin", namespace=ns)
    gpu_sim.wait_for(lambda: all(not v for v in gpu_allocatable(client).values()), what="GPUs to disappear")


def test_a_job_runs_to_completion(kube_sim, namespace):
    client = kube_sim.dynamic_client()
    jobs = res(client, "batch/v1", "Job")
    jobs.create(namespace=namespace, body={
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "smoke"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "smoke", "image": "registry.lab.invalid/curl:1"}]}}}})
    done = kube_sim.wait_for(lambda: [c for c in (jobs.get(name="smoke", namespace=namespace).status.conditions or [])
                                      if c.type == "Complete" and c.status == "True"], what="the Job to complete")
    assert done and jobs.get(name="smoke", namespace=namespace).status.succeeded == 1
    with pytest.raises(ApiException) as refused:
        jobs.create(namespace=namespace, body={
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bad"},
            "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "registry.lab.invalid/x:1"}]}}}})
    assert refused.value.status == 422 and "restartPolicy" in json.loads(refused.value.body)["message"]


def test_eviction_honours_pod_disruption_budgets(kube_sim, namespace):
    client = kube_sim.dynamic_client()
    deployments, pods = res(client, "apps/v1", "Deployment"), res(client, "v1", "Pod")
    deployments.create(namespace=namespace, body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"containers": [{"name": "api", "image": "registry.lab.invalid/api:1"}]}}}})
    kube_sim.wait_for(lambda: (deployments.get(name="api", namespace=namespace).status.readyReplicas or 0) == 2,
                      what="two ready pods")
    res(client, "policy/v1", "PodDisruptionBudget").create(namespace=namespace, body={
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "api"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "api"}}}})
    budget = kube_sim.wait_for(lambda: res(client, "policy/v1", "PodDisruptionBudget").get(name="api", namespace=namespace).status.expectedPods
                               and res(client, "policy/v1", "PodDisruptionBudget").get(name="api", namespace=namespace).status,
                               what="the budget's status")
    assert (budget.expectedPods, budget.currentHealthy, budget.desiredHealthy, budget.disruptionsAllowed) == (2, 2, 2, 0)
    victim = pods.get(namespace=namespace).items[0].metadata.name
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": victim, "namespace": namespace}}
    with pytest.raises(ApiException) as refused:
        client.request("POST", f"/api/v1/namespaces/{namespace}/pods/{victim}/eviction", body=eviction)
    assert refused.value.status == 429 and "disruption budget" in json.loads(refused.value.body)["message"]
    res(client, "policy/v1", "PodDisruptionBudget").delete(name="api", namespace=namespace)
    client.request("POST", f"/api/v1/namespaces/{namespace}/pods/{victim}/eviction", body=eviction)
    assert victim not in [p.metadata.name for p in pods.get(namespace=namespace).items]
