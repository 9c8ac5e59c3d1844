# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm values of the helm method, checked against the value paths the pinned charts read
(tests/unit/fixtures/linkerd: listed from the linkerd-control-plane and linkerd-viz charts at
edge-26.8.3, chart version 2026.8.3). The control-plane values come from linkerd_values; the
linkerd-viz values and the retention rewrite of pre-rendered viz manifests are the role's own
expressions (roles/linkerd/vars/main.yml), rendered here by Ansible's Templar."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.template import Templar

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_values as lv
from ansible_collections.hymt.gpu_mesh.tests.unit.role_variables import role_variables

ROOT = Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles/linkerd"
VIZ_FIXTURE_DIR = ROOT / "lab/fixtures/linkerd/viz"


def chart_paths(name):
    text = (ROOT / "tests/unit/fixtures/linkerd" / name).read_text()
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


CHART_PATHS = chart_paths("control-plane-value-paths-edge-26.8.3.txt")
VIZ_CHART_PATHS = chart_paths("viz-value-paths-edge-26.8.3.txt")
MATERIAL = {
    "trust_anchors_pem": "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n\n",
    "issuer_crt_pem": "-----BEGIN CERTIFICATE-----\nI\n-----END CERTIFICATE-----",
    "issuer_key_pem": "-----BEGIN EC PRIVATE KEY-----\nK\n-----END EC PRIVATE KEY-----",
    "issuer_scheme": "linkerd.io/tls",
    "trust_domain": "cluster.local",
}
SEED_RESOURCES = {"cpu": {"request": "10m"}, "memory": {"request": "20Mi", "limit": "50Mi"}}


def leaves(tree, prefix=()):
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, prefix + (key,))
        else:
            yield ".".join(prefix + (key,))


@pytest.mark.parametrize("ha", [False, True])
@pytest.mark.parametrize("registry", ["", "registry.example.internal/linkerd/"])
def test_every_value_is_one_the_chart_reads(ha, registry):
    values = lv.control_plane_values(MATERIAL, ha=ha, image_registry=registry, proxy_resources=SEED_RESOURCES)
    unknown = sorted(set(leaves(values)) - CHART_PATHS)
    assert unknown == []


def test_certificates_and_seed_defaults():
    values = lv.control_plane_values(MATERIAL, proxy_resources=SEED_RESOURCES, default_inbound_policy="all-authenticated")
    assert values["identityTrustAnchorsPEM"] == "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"
    assert values["identity"]["issuer"] == {
        "scheme": "linkerd.io/tls",
        "tls": {"crtPEM": MATERIAL["issuer_crt_pem"] + "\n", "keyPEM": MATERIAL["issuer_key_pem"] + "\n"},
    }
    assert values["proxy"] == {"defaultInboundPolicy": "all-authenticated", "resources": SEED_RESOURCES}
    assert "controllerReplicas" not in values


def test_ha_follows_values_ha_but_keeps_the_proxy_resources_asked_for():
    values = lv.control_plane_values(MATERIAL, ha=True, proxy_resources=SEED_RESOURCES)
    assert values["controllerReplicas"] == 3
    assert values["webhookFailurePolicy"] == "Fail"
    assert values["enablePodAntiAffinity"] is True
    assert values["proxy"]["resources"] == SEED_RESOURCES


def test_registry_mirror_renames_every_image():
    values = lv.control_plane_values(MATERIAL, image_registry="registry.example.internal/linkerd/")
    assert values["controllerImage"] == "registry.example.internal/linkerd/controller"
    assert values["proxy"]["image"]["name"] == "registry.example.internal/linkerd/proxy"
    assert values["debugContainer"]["image"]["name"] == "registry.example.internal/linkerd/debug"
    # Every image value of the chart is covered (the chart names them image.name / *Image).
    chart_images = {p for p in CHART_PATHS if p.endswith("image.name") or p.endswith("Image")}
    assert chart_images == {".".join(entry[0]) for entry in lv.IMAGE_VALUES}


def test_cert_manager_scheme_carries_no_issuer_material():
    material = dict(MATERIAL, issuer_scheme="kubernetes.io/tls", issuer_crt_pem="", issuer_key_pem="")
    assert lv.control_plane_values(material)["identity"]["issuer"] == {"scheme": "kubernetes.io/tls"}


def test_extra_values_win_and_license_is_passed():
    values = lv.control_plane_values(MATERIAL, license_key="bel-license", extra={"proxy": {"logLevel": "debug"}, "controllerReplicas": 2})
    assert values["license"] == "bel-license"
    assert values["proxy"]["logLevel"] == "debug"
    assert values["proxy"]["defaultInboundPolicy"] == "all-unauthenticated"
    assert values["controllerReplicas"] == 2


def test_unknown_inbound_policy_is_refused():
    with pytest.raises(ValueError, match="unknown default inbound policy 'allow'"):
        lv.control_plane_values(MATERIAL, default_inbound_policy="allow")


# linkerd-viz ---------------------------------------------------------------------------------

def role_var(name, **overrides):
    """A variable of the linkerd role rendered with its defaults, vars and ``overrides``."""
    loader, variables = role_variables(ROLE, **overrides)
    return Templar(loader=loader, variables=variables).template(variables[name])


VIZ_VARIANTS = {
    "defaults": {},
    "external prometheus": {"linkerd_viz_prometheus_url": "http://prometheus.monitoring.svc.cluster.local:9090"},
    "mirrors and extra values": {"linkerd_image_registry": "registry.example.internal/linkerd/",
                                 "linkerd_viz_prometheus_image_registry": "registry.example.internal/prom",
                                 "linkerd_viz_helm_values": {"dashboard": {"replicas": 2}}},
}


@pytest.mark.parametrize("variant", VIZ_VARIANTS)
def test_every_viz_value_is_one_the_chart_reads(variant):
    values = role_var("__linkerd_viz_helm_values", **VIZ_VARIANTS[variant])
    unknown = sorted(set(leaves(values)) - VIZ_CHART_PATHS)
    assert unknown == []


def test_viz_defaults_keep_the_seed_retention_in_the_bundled_prometheus():
    values = role_var("__linkerd_viz_helm_values")
    scrape_jobs = values["prometheus"].pop("scrapeConfigs")
    assert values == {
        "linkerdNamespace": "linkerd",
        "prometheus": {"enabled": True, "args": {"storage.tsdb.retention.time": "1h"}},
    }
    # The default scrape job finds pods by their prometheus.io annotations (the translation service's).
    assert [job["job_name"] for job in scrape_jobs] == ["annotated-pods"]
    assert scrape_jobs[0]["relabel_configs"][0] == {
        "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep", "regex": "true"}
    assert "scrapeConfigs" not in role_var("__linkerd_viz_helm_values", linkerd_viz_prometheus_scrape_configs=[])["prometheus"]
    assert role_var("__linkerd_viz_deployments") == ["metrics-api", "tap", "tap-injector", "web", "prometheus"]


def test_external_prometheus_replaces_the_bundled_one():
    url = "https://prometheus.example.internal"
    values = role_var("__linkerd_viz_helm_values", linkerd_viz_prometheus_url=url, linkerd_namespace="mesh")
    assert values == {"linkerdNamespace": "mesh", "prometheusUrl": url, "prometheus": {"enabled": False}}
    assert "prometheus" not in role_var("__linkerd_viz_deployments", linkerd_viz_prometheus_url=url)


def test_viz_mirrors_and_extra_values():
    values = role_var("__linkerd_viz_helm_values", **VIZ_VARIANTS["mirrors and extra values"])
    assert values["defaultRegistry"] == "registry.example.internal/linkerd"
    assert values["prometheus"]["image"] == {"registry": "registry.example.internal/prom"}
    assert values["prometheus"]["args"] == {"storage.tsdb.retention.time": "1h"}
    assert values["dashboard"] == {"replicas": 2}


def fixture_docs():
    return [doc for path in sorted(VIZ_FIXTURE_DIR.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def prometheus_args(docs):
    (deploy,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "prometheus"]
    (container,) = [c for c in deploy["spec"]["template"]["spec"]["containers"] if c["name"] == "prometheus"]
    return container["args"]


def test_viz_manifests_get_the_retention_asked_for_and_nothing_else_changes():
    original = fixture_docs()
    assert "--storage.tsdb.retention.time=6h" in prometheus_args(original)
    docs = role_var("__linkerd_viz_manifest_docs", linkerd_viz_manifests_dir=str(VIZ_FIXTURE_DIR), linkerd_viz_prometheus_retention="1d12h",
                    linkerd_viz_prometheus_scrape_configs=[])
    args = prometheus_args(docs)
    assert [a for a in args if a.startswith("--storage.tsdb.retention.time")] == ["--storage.tsdb.retention.time=1d12h"]
    expected = [a if not a.startswith("--storage.tsdb.retention.time=") else "--storage.tsdb.retention.time=1d12h"
                for a in prometheus_args(original)]
    assert args == expected
    assert [d for d in docs if d["metadata"]["name"] != "prometheus" or d["kind"] != "Deployment"] == \
        [d for d in original if d["metadata"]["name"] != "prometheus" or d["kind"] != "Deployment"]


def test_viz_manifests_get_the_scrape_jobs_and_a_restart_when_they_change():
    original = fixture_docs()
    job = {"job_name": "model-servers", "kubernetes_sd_configs": [{"role": "pod"}]}

    def rendered(jobs):
        docs = role_var("__linkerd_viz_manifest_docs", linkerd_viz_manifests_dir=str(VIZ_FIXTURE_DIR),
                        linkerd_viz_prometheus_scrape_configs=jobs)
        (config,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "prometheus-config"]
        (deploy,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "prometheus"]
        return docs, yaml.safe_load(config["data"]["prometheus.yml"]), deploy["spec"]["template"]["metadata"]["annotations"]

    docs, config, annotations = rendered([job])
    (original_config,) = [d for d in original if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "prometheus-config"]
    assert config["scrape_configs"] == yaml.safe_load(original_config["data"]["prometheus.yml"])["scrape_configs"] + [job]
    checksum = annotations["gpu-mesh.hymt.io/scrape-configs-sha256"]
    assert len(checksum) == 64
    assert rendered([dict(job, scrape_interval="30s")])[2]["gpu-mesh.hymt.io/scrape-configs-sha256"] != checksum
    assert rendered([job])[2]["gpu-mesh.hymt.io/scrape-configs-sha256"] == checksum
    untouched = [(d["kind"], d["metadata"]["name"]) for d in docs if d not in original]
    assert sorted(untouched) == [("ConfigMap", "prometheus-config"), ("Deployment", "prometheus")]
