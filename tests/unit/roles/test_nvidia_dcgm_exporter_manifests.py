"""The nvidia_dcgm_exporter role's rendered objects: valid for the pinned Kubernetes schema, least-privileged,
and alert rules that read only metrics the collectors CSV makes the exporter serve.

Rendered by Ansible's own Templar with the role's defaults and vars, as a play renders them.
"""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from ansible.template import Templar, trust_as_template

from ansible_collections.hymt.gpu_mesh.tests.unit.role_variables import role_variables

ROLE = Path(__file__).resolve().parents[3] / "roles/nvidia_dcgm_exporter"
KUBERNETES_VERSION = "1.35"
BOTH = ["ServiceMonitor", "PrometheusRule"]


def render(template, **overrides):
    loader, variables = role_variables(ROLE, **overrides)
    text = (ROLE / "templates" / template).read_text()
    return yaml.safe_load(Templar(loader=loader, variables=variables).template(trust_as_template(text))) or []


def by_kind(objs):
    return {o["kind"]: o for o in objs}


def csv_fields(config_map):
    rows = [line for line in config_map["data"]["counters.csv"].splitlines() if line.strip() and not line.startswith("#")]
    assert all(len(row.split(",")) == 3 for row in rows), rows
    return [row.split(",")[0].strip() for row in rows]


@pytest.mark.parametrize("overrides", [{}, {"nvidia_dcgm_exporter_pod_mapping": True}], ids=["default", "pod mapping"])
def test_core_objects_validate_against_kubernetes_schema(overrides):
    for obj in render("exporter.yml.j2", **overrides):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_default_pod_is_restricted_and_has_no_capability():
    objs = by_kind(render("exporter.yml.j2"))
    pod = objs["DaemonSet"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert objs["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert not any("hostPath" in v for v in pod["volumes"])
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"} and pod["runtimeClassName"] == "nvidia"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert re.search(r":4\.6\.0-4\.8\.3-distroless@sha256:[0-9a-f]{64}$", container["image"])


def test_pod_mapping_mounts_the_kubelet_socket_as_root_without_capabilities():
    objs = by_kind(render("exporter.yml.j2", nvidia_dcgm_exporter_pod_mapping=True))
    pod = objs["DaemonSet"]["spec"]["template"]["spec"]
    assert objs["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert pod["securityContext"]["runAsUser"] == 0
    assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "DCGM_EXPORTER_KUBERNETES", "value": "true"} in pod["containers"][0]["env"]


def test_config_change_rolls_the_pods():
    def checksum(**overrides):
        ds = by_kind(render("exporter.yml.j2", **overrides))["DaemonSet"]
        return ds["spec"]["template"]["metadata"]["annotations"]["gpu-mesh.hymt.io/config-sha256"]

    extra = [{"field": "DCGM_FI_DEV_SM_CLOCK", "type": "gauge", "help": "SM clock (MHz)."}]
    assert checksum() != checksum(nvidia_dcgm_exporter_extra_collectors=extra)


def test_rules_read_only_collected_metrics():
    fields = csv_fields(by_kind(render("exporter.yml.j2"))["ConfigMap"])
    rule = by_kind(render("monitoring.yml.j2", __nvidia_dcgm_exporter_write_kinds=BOTH))["PrometheusRule"]
    rules = rule["spec"]["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == ["GPUXidError", "GPUEccDoubleBitErrors", "GPUEccSingleBitErrorsHigh",
                                           "GPUTemperatureHigh", "GPURowRemapFailure"]
    for r in rules:
        metrics = re.findall(r"DCGM_[A-Z0-9_]+", r["expr"])
        assert metrics and set(metrics) <= set(fields), r["expr"]
        assert "{{ $labels.node }}" in r["annotations"]["summary"]


def test_thresholds_reach_the_expressions():
    rule = by_kind(render("monitoring.yml.j2", __nvidia_dcgm_exporter_write_kinds=BOTH,
                          nvidia_dcgm_exporter_alert_ecc_sbe_threshold=7, nvidia_dcgm_exporter_alert_ecc_sbe_window="30m",
                          nvidia_dcgm_exporter_alert_temperature_celsius=80.5,
                          nvidia_dcgm_exporter_alert_labels={"team": "gpu"}))["PrometheusRule"]
    rules = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert rules["GPUEccSingleBitErrorsHigh"]["expr"] == "increase(DCGM_FI_DEV_ECC_SBE_VOL_TOTAL[30m]) > 7"
    assert rules["GPUTemperatureHigh"]["expr"] == "DCGM_FI_DEV_GPU_TEMP > 80.5"
    assert all(r["labels"]["team"] == "gpu" for r in rules.values())


@pytest.mark.parametrize("kinds", [[], ["ServiceMonitor"], BOTH], ids=["none", "servicemonitor only", "both"])
def test_only_served_kinds_are_rendered(kinds):
    objs = render("monitoring.yml.j2", __nvidia_dcgm_exporter_write_kinds=kinds)
    assert [o["kind"] for o in objs] == kinds
