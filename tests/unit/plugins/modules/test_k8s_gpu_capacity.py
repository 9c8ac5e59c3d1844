"""hymt.gpu_mesh.k8s_gpu_capacity's cluster reads against the lab's upstream API server (lab/control_plane).

The gate's judgement is tested with tables in test_gpu_capacity.py; this checks what the module feeds it:
404s as absent objects, the DaemonSet's pods found through its selector and owner, and nodes' allocatable.
"""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import gpu_capacity, k8s_common

LABEL = {"nvidia.com/gpu.present": "true"}
SEED = {"nodes": [
    {"name": "gpu-a", "gpus": 2, "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]},
    {"name": "gpu-b", "gpus": 1, "device_plugin": "crashloop"},
    {"name": "cpu-a"},
]}
SETTINGS = {"resource": "nvidia.com/gpu", "replicas": 2, "mig_strategy": "none", "node_labels": LABEL,
            "runtime_class": "nvidia", "daemonset": "kube-system/nvidia-device-plugin"}


def plugin_daemonset():
    labels = {"app.kubernetes.io/name": "nvidia-device-plugin"}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "runtimeClassName": "nvidia", "nodeSelector": LABEL,
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "containers": [{
                    "name": "nvidia-device-plugin-ctr", "image": "mirror.example.internal/nvidia/k8s-device-plugin:v0.20.0",
                    "env": [{"name": "CONFIG_FILE", "value": "/etc/nvidia-device-plugin/config.yaml"}],
                    "volumeMounts": [{"name": "config", "mountPath": "/etc/nvidia-device-plugin"}]}],
                "volumes": [{"name": "config", "configMap": {"name": "nvidia-device-plugin-config"}}]}}}}


@pytest.fixture(scope="module")
def sim(lab_cluster_factory, tmp_path_factory):
    seed = tmp_path_factory.mktemp("seed") / "nodes.yaml"
    seed.write_text(yaml.safe_dump(SEED))
    return lab_cluster_factory(nodes=seed)


def test_reads_absent_objects_then_a_working_plugin(sim):
    reader = gpu_capacity.ClusterReader(k8s_common.api_client({"kubeconfig": sim.kubeconfig}),
                                        "kube-system", "nvidia-device-plugin", "nvidia")
    nodes, pods, daemonset, runtime_class = reader()
    assert sorted(n["metadata"]["name"] for n in nodes) == ["cpu-a", "gpu-a", "gpu-b"]
    assert (pods, daemonset, runtime_class) == ([], None, None)
    (report,) = gpu_capacity.assess([{"name": "gpu-a", "gpus": 2}], nodes, pods, daemonset, runtime_class, SETTINGS)
    assert [r.split(",")[0] for r in report["reasons"]] == [
        "RuntimeClass nvidia is absent", "node is missing its label nvidia.com/gpu.present=true",
        "device-plugin DaemonSet kube-system/nvidia-device-plugin does not exist"]

    client = sim.dynamic_client()
    client.resources.get(api_version="node.k8s.io/v1", kind="RuntimeClass").create(
        body={"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "nvidia"}, "handler": "nvidia"})
    config = {"version": "v1", "flags": {"migStrategy": "none"},
              "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 2}]}}}
    client.resources.get(api_version="v1", kind="ConfigMap").create(body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "nvidia-device-plugin-config", "namespace": "kube-system"},
        "data": {"config.yaml": yaml.safe_dump(config)}})
    client.resources.get(api_version="apps/v1", kind="DaemonSet").create(body=plugin_daemonset())
    # A pod with the plugin's labels that the DaemonSet does not own must not count as its pod.
    client.resources.get(api_version="v1", kind="Pod").create(body={
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "impostor", "namespace": "kube-system", "labels": {"app.kubernetes.io/name": "nvidia-device-plugin"}},
        "spec": {"nodeName": "gpu-a", "containers": [{"name": "c", "image": "busybox:1.37"}]}})
    nodes_api = client.resources.get(api_version="v1", kind="Node")
    for name in ("gpu-a", "gpu-b"):
        nodes_api.patch(name=name, body={"metadata": {"labels": LABEL}}, content_type="application/merge-patch+json")

    reports, ok = gpu_capacity.wait_for_capacity(reader, [{"name": "gpu-a", "gpus": 2}], SETTINGS,
                                                 timeout=30, interval=0.5)[:2]
    assert ok, reports
    assert reports[0]["allocatable"] == 4 and reports[0]["pod"] != "impostor"
    pods, daemonset, runtime_class = reader()[1:]
    assert daemonset["metadata"]["name"] == "nvidia-device-plugin" and runtime_class["handler"] == "nvidia"
    assert "impostor" not in [p["metadata"]["name"] for p in pods]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["gpu-a", "gpu-b"]

    def crash_reported():
        (report,) = gpu_capacity.assess([{"name": "gpu-b", "gpus": 1}], *reader(), settings=SETTINGS)
        return [r for r in report["reasons"] if "is restarting" in r]

    reasons = sim.wait_for(crash_reported, what="gpu-b's crash-looping plugin pod")
    assert "ERROR_LIBRARY_NOT_FOUND" in reasons[0]
