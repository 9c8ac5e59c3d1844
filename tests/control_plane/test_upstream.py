"""The lab cluster is upstream Kubernetes: its answers come from kube-apiserver, the scheduler, the
controllers and the admission plugins as upstream wrote them, not from a reimplementation.

Also covers the lab's own parts around it: KWOK nodes, the device-plugin stand-in, the fault proxy
and the audit log the request counts come from.
"""

from __future__ import annotations

import json
import re

import pytest
from kubernetes import client as k8s
from kubernetes.dynamic.exceptions import ApiException

from lab.control_plane import components

LABELS = {"app": "probe"}
GPU_TOLERATION = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def message(exc) -> str:
    body = exc.body.decode() if isinstance(exc.body, bytes) else exc.body
    return json.loads(body)["message"]


def namespace(client, name: str, labels: dict | None = None) -> str:
    client.resources.get(api_version="v1", kind="Namespace").create(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})
    return name


def deployment(name: str, replicas: int, gpus: int = 0, image: str = "registry.example.internal/probe:1") -> dict:
    resources = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"tolerations": GPU_TOLERATION,
                                           "containers": [{"name": "main", "image": image, "resources": resources}]}}}}


def plugin_daemonset() -> dict:
    labels = {"app.kubernetes.io/name": "nvidia-device-plugin"}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "nvidia-device-plugin"},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "nodeSelector": {"nvidia.com/gpu.present": "true"}, "tolerations": GPU_TOLERATION,
                         "containers": [{"name": "plugin", "image": "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"}]}}}}


def test_version_is_the_pinned_release(lab_cluster):
    info = k8s.VersionApi(lab_cluster.dynamic_client().client).get_code()
    assert info.git_version == components.COMPONENTS["kubernetes"].version
    assert re.fullmatch(r"v1\.35\.\d+", info.git_version)


def test_pod_security_refuses_a_privileged_pod_in_a_restricted_namespace(lab_cluster):
    client = lab_cluster.dynamic_client()
    name = namespace(client, "psa-restricted", {"pod-security.kubernetes.io/enforce": "restricted"})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged"},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "securityContext": {"privileged": True}}]}}
    with pytest.raises(ApiException) as refused:
        client.resources.get(api_version="v1", kind="Pod").create(body=pod, namespace=name)
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in message(refused.value)
    assert "privileged" in message(refused.value)


def test_gpus_appear_only_with_a_ready_plugin_and_the_scheduler_refuses_four_per_pod(lab_cluster):
    client = lab_cluster.dynamic_client()
    nodes = client.resources.get(api_version="v1", kind="Node")
    for name in ("hymt-lab-gpu-1", "hymt-lab-gpu-2", "hymt-lab-gpu-3"):
        assert "nvidia.com/gpu" not in nodes.get(name=name).to_dict()["status"]["allocatable"]
    client.resources.get(api_version="apps/v1", kind="DaemonSet").create(body=plugin_daemonset(), namespace="kube-system")

    def advertised():
        return {n["metadata"]["name"]: n["status"]["allocatable"].get("nvidia.com/gpu")
                for n in nodes.get().to_dict()["items"] if n["status"]["allocatable"].get("nvidia.com/gpu")}

    assert lab_cluster.wait_for(lambda: len(advertised()) == 3 and advertised(), what="the lab nodes' GPUs") == {
        "hymt-lab-gpu-1": "2", "hymt-lab-gpu-2": "2", "hymt-lab-gpu-3": "2"}

    ns = namespace(client, "gpu-hungry")
    client.resources.get(api_version="apps/v1", kind="Deployment").create(body=deployment("four", 1, gpus=4), namespace=ns)
    events = client.resources.get(api_version="v1", kind="Event")

    def failed_scheduling():
        return [e for e in events.get(namespace=ns).to_dict()["items"] if e["reason"] == "FailedScheduling"]

    event = lab_cluster.wait_for(failed_scheduling, what="the scheduler's FailedScheduling event")[0]
    assert "default-scheduler" in (event.get("reportingComponent"), (event.get("source") or {}).get("component"))
    assert "Insufficient nvidia.com/gpu" in event["message"]
    pods = client.resources.get(api_version="v1", kind="Pod").get(namespace=ns).to_dict()["items"]
    assert [p["status"]["phase"] for p in pods] == ["Pending"]


def test_an_eviction_that_would_break_a_pdb_gets_429(lab_cluster):
    client = lab_cluster.dynamic_client()
    ns = namespace(client, "pdb-guarded")
    client.resources.get(api_version="apps/v1", kind="Deployment").create(body=deployment("guarded", 2), namespace=ns)
    client.resources.get(api_version="policy/v1", kind="PodDisruptionBudget").create(namespace=ns, body={
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "guarded"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "guarded"}}}})
    pdbs = client.resources.get(api_version="policy/v1", kind="PodDisruptionBudget")
    lab_cluster.wait_for(lambda: (pdbs.get(name="guarded", namespace=ns).to_dict().get("status") or {})
                         .get("currentHealthy") == 2, what="the disruption controller to count 2 healthy pods")
    pod = client.resources.get(api_version="v1", kind="Pod").get(namespace=ns).to_dict()["items"][0]
    core = k8s.CoreV1Api(client.client)
    with pytest.raises(k8s.ApiException) as refused:
        core.create_namespaced_pod_eviction(pod["metadata"]["name"], ns, k8s.V1Eviction(
            metadata=k8s.V1ObjectMeta(name=pod["metadata"]["name"], namespace=ns)))
    assert refused.value.status == 429
    assert "Cannot evict pod as it would violate the pod's disruption budget" in message(refused.value)


def test_a_crash_looping_plugin_and_the_fault_proxy_and_the_audit_log(lab_cluster_factory, tmp_path):
    seed = tmp_path / "nodes.yaml"
    seed.write_text("nodes:\n  - {name: gpu-a, gpus: 1, labels: {nvidia.com/gpu.present: 'true'}, device_plugin: crashloop}\n")
    cluster = lab_cluster_factory(nodes=seed)
    client = cluster.dynamic_client()
    client.resources.get(api_version="apps/v1", kind="DaemonSet").create(body=plugin_daemonset(), namespace="kube-system")
    pods = client.resources.get(api_version="v1", kind="Pod")

    def crash_looping():
        for pod in pods.get(namespace="kube-system").to_dict()["items"]:
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if (status["state"].get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                    return status
        return None

    status = cluster.wait_for(crash_looping, what="a CrashLoopBackOff device-plugin pod")
    assert "ERROR_LIBRARY_NOT_FOUND" in status["lastState"]["terminated"]["message"]
    node = client.resources.get(api_version="v1", kind="Node").get(name="gpu-a").to_dict()
    assert "nvidia.com/gpu" not in node["status"]["allocatable"]

    cluster.requests(reset=True)
    cluster.set_faults({"verb": "GET", "path": "^/api/v1/namespaces/default/configmaps$", "sequence": [503]})
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
    with pytest.raises(ApiException) as injected:
        configmaps.get(namespace="default")
    assert injected.value.status == 503 and "fault proxy" in message(injected.value)
    assert configmaps.get(namespace="default").to_dict()["kind"] == "ConfigMapList"
    counted = cluster.requests()
    # The injected 503 never reached the API server; the second GET did, and the audit log saw it.
    assert counted["counts"] == {"LIST /api/v1/namespaces/default/configmaps": 1}
    [event] = cluster.request_timeline()
    assert (event["verb"], event["path"], event["code"]) == ("list", "/api/v1/namespaces/default/configmaps", 200)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", event["time"])
