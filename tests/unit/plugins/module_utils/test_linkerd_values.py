# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm values of the helm method, checked against the value paths the pinned chart reads
(tests/unit/fixtures/linkerd: listed from the linkerd-control-plane chart at edge-26.8.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_values as lv

CHART_PATHS = {
    line.strip()
    for line in (Path(__file__).resolve().parents[2] / "fixtures/linkerd/control-plane-value-paths-edge-26.8.3.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}
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
