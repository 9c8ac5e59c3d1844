"""The nvidia_device_plugin role's rendered objects: valid for the pinned Kubernetes schema, and saying what they must.

Templates and vars are rendered by Ansible's own Templar with the role's defaults, so the filters are the
ones a play uses; kubernetes-validate checks every object against the strict official schema.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from ansible.template import Templar, trust_as_template

from ansible_collections.hymt.gpu_mesh.tests.unit.role_variables import role_variables

ROLE = Path(__file__).resolve().parents[3] / "roles/nvidia_device_plugin"
# Newest Kubernetes that Linkerd 2.20 (the mesh phase) supports.
KUBERNETES_VERSION = "1.35"
DIGEST = "sha256:" + "ab" * 32


def templar(**overrides):
    loader, variables = role_variables(ROLE, **overrides)
    return Templar(loader=loader, variables=variables)


def render(template, **overrides):
    text = (ROLE / "templates" / template).read_text()
    return yaml.safe_load(templar(**overrides).template(trust_as_template(text)))


def objects(**overrides):
    return render("cluster.yml.j2", **overrides) + render("daemonsets.yml.j2", **overrides)


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def plugin_config(objs):
    (config_map,) = by_kind(objs, "ConfigMap")
    return yaml.safe_load(config_map["data"]["config.yaml"])


VARIANTS = {
    "defaults": {},
    "time-slicing renamed": {"nvidia_device_plugin_time_slicing_replicas": 4,
                             "nvidia_device_plugin_time_slicing_rename_by_default": True,
                             "nvidia_device_plugin_time_slicing_fail_requests_greater_than_one": True},
    "mig mixed, gfd, own namespace": {"nvidia_device_plugin_mig_strategy": "mixed", "nvidia_device_plugin_gfd_enabled": True,
                                      "nvidia_device_plugin_namespace": "nvidia-device-plugin"},
    "mirror with extras": {
        "nvidia_device_plugin_image_registry": "mirror.example.internal:5000",
        "nvidia_device_plugin_image_repository": "nvidia/k8s-device-plugin", "nvidia_device_plugin_image_digest": "",
        "nvidia_device_plugin_image_pull_secrets": [{"name": "mirror-pull"}],
        "nvidia_device_plugin_extra_tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
        "nvidia_device_plugin_resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    },
}


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_every_object_is_valid_for_the_pinned_kubernetes(variant):
    objs = objects(**VARIANTS[variant])
    assert objs, "nothing rendered"
    for obj in objs:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_defaults_pin_the_image_by_tag_and_digest_and_schedule_without_nfd():
    objs = objects()
    assert [o["kind"] for o in objs] == ["RuntimeClass", "ConfigMap", "DaemonSet"]
    (runtime_class,) = by_kind(objs, "RuntimeClass")
    assert (runtime_class["metadata"]["name"], runtime_class["handler"]) == ("nvidia", "nvidia")
    (daemonset,) = by_kind(objs, "DaemonSet")
    assert daemonset["metadata"] == {**daemonset["metadata"], "name": "nvidia-device-plugin", "namespace": "kube-system"}
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert "affinity" not in pod
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    (container,) = pod["containers"]
    assert container["image"] == ("nvcr.io/nvidia/k8s-device-plugin:v0.20.0"
                                  "@sha256:a61ba9fd8efb82f3a79f877f7580e02c1e8e7593f62473644bc9c79e315c3312")
    assert {"name": "CONFIG_FILE", "value": "/etc/nvidia-device-plugin/config.yaml"} in container["env"]
    mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounted["config"] == "/etc/nvidia-device-plugin"
    assert volumes["config"]["configMap"]["name"] == by_kind(objs, "ConfigMap")[0]["metadata"]["name"]
    assert volumes[next(n for n, p in mounted.items() if p == "/var/lib/kubelet/device-plugins")]["hostPath"]["path"] == \
        "/var/lib/kubelet/device-plugins"


def test_replicas_one_writes_no_sharing_section():
    # The plugin rejects a timeSlicing resource with fewer than 2 replicas.
    assert plugin_config(objects()) == {"version": "v1", "flags": {"migStrategy": "none", "failOnInitError": True}}


def test_time_slicing_config():
    config = plugin_config(objects(**VARIANTS["time-slicing renamed"]))
    assert config["sharing"] == {"timeSlicing": {
        "renameByDefault": True, "failRequestsGreaterThanOne": True,
        "resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}


@pytest.mark.parametrize("strategy", ["none", "single", "mixed"])
def test_mig_strategy_reaches_the_config(strategy):
    assert plugin_config(objects(nvidia_device_plugin_mig_strategy=strategy))["flags"]["migStrategy"] == strategy


def test_a_changed_config_rolls_the_plugin_pods():
    def checksum(**overrides):
        (daemonset,) = by_kind(objects(**overrides), "DaemonSet")
        return daemonset["spec"]["template"]["metadata"]["annotations"]["gpu-mesh.hymt.io/config-sha256"]

    assert checksum() == checksum()
    assert checksum(nvidia_device_plugin_time_slicing_replicas=2) != checksum()
    assert checksum(nvidia_device_plugin_time_slicing_replicas=2) != checksum(nvidia_device_plugin_time_slicing_replicas=3)


def test_mirror_image_without_digest_and_extras():
    objs = objects(**VARIANTS["mirror with extras"])
    pod = by_kind(objs, "DaemonSet")[0]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "mirror.example.internal:5000/nvidia/k8s-device-plugin:v0.20.0"
    assert pod["imagePullSecrets"] == [{"name": "mirror-pull"}]
    assert len(pod["tolerations"]) == 2
    assert pod["containers"][0]["resources"]["limits"] == {"memory": "256Mi"}


def test_own_namespace_is_created_and_gfd_deployed():
    objs = objects(**VARIANTS["mig mixed, gfd, own namespace"])
    assert by_kind(objs, "Namespace")[0]["metadata"]["name"] == "nvidia-device-plugin"
    assert {o["metadata"].get("namespace") for o in objs if o["kind"] in ("ConfigMap", "DaemonSet")} == {"nvidia-device-plugin"}
    names = sorted(o["metadata"]["name"] for o in by_kind(objs, "DaemonSet"))
    assert names == ["nvidia-device-plugin", "nvidia-device-plugin-gpu-feature-discovery"]
    gfd = next(o for o in by_kind(objs, "DaemonSet") if "feature" in o["metadata"]["name"])
    assert gfd["spec"]["template"]["spec"]["containers"][0]["command"] == ["gpu-feature-discovery"]
    selectors = [o["spec"]["selector"]["matchLabels"] for o in by_kind(objs, "DaemonSet")]
    assert selectors[0] != selectors[1], "two DaemonSets with one selector would adopt each other's pods"


@pytest.mark.parametrize("replicas, rename, resource", [(1, True, "nvidia.com/gpu"), (2, False, "nvidia.com/gpu"),
                                                        (2, True, "nvidia.com/gpu.shared")])
def test_gate_resource(replicas, rename, resource):
    value = templar(nvidia_device_plugin_time_slicing_replicas=replicas,
                    nvidia_device_plugin_time_slicing_rename_by_default=rename).template(
        trust_as_template("{{ __nvidia_device_plugin_resource }}"))
    assert value == resource


@pytest.mark.parametrize("method, name, daemonset", [
    ("manifest", "gpu", "gpu"), ("helm", "nvidia-device-plugin", "nvidia-device-plugin"),
    ("helm", "gpu", "gpu-nvidia-device-plugin"),
])
def test_daemonset_name_follows_the_install_method(method, name, daemonset):
    value = templar(nvidia_device_plugin_install_method=method, nvidia_device_plugin_name=name).template(
        trust_as_template("{{ __nvidia_device_plugin_daemonset }}"))
    assert value == daemonset


def test_helm_values_use_the_roles_config_runtime_class_and_label():
    values = templar(nvidia_device_plugin_image_digest=DIGEST).template(
        trust_as_template("{{ __nvidia_device_plugin_helm_values }}"))
    assert values["image"] == {"repository": "nvcr.io/nvidia/k8s-device-plugin", "tag": "v0.20.0@" + DIGEST,
                               "pullPolicy": "IfNotPresent"}
    assert values["config"] == {"name": "nvidia-device-plugin-config", "default": "config.yaml"}
    assert values["runtimeClassName"] == "nvidia"
    assert values["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert values["gfd"] == {"enabled": False}
