# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of linkerd_check through the real kubernetes client against the lab's upstream API server
(lab/control_plane, its own instance), loaded with the lab's Linkerd fixture manifests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_manifests
from ansible_collections.hymt.gpu_mesh.plugins.modules import linkerd_check

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
from linkerd_certgen import issuer_of, make, pem  # noqa: E402  pylint: disable=wrong-import-position

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "lab/fixtures/linkerd/manifests"


@pytest.fixture(scope="module")
def cluster(lab_cluster_factory):
    """A lab cluster with the fixture control plane installed and rolled out."""
    sim = lab_cluster_factory()
    anchor = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    issuer, key = issuer_of(anchor)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    docs = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    docs = linkerd_manifests.inject_identity(docs, pem(anchor[0]), pem(issuer), key_pem)
    client = sim.dynamic_client()
    for doc in docs:  # CRDs come first in file order, as the role applies them
        client.resources.get(api_version=doc["apiVersion"], kind=doc["kind"]).create(
            body=doc, namespace=doc["metadata"].get("namespace"))
    deployments = client.resources.get(api_version="apps/v1", kind="Deployment")

    def available():
        items = deployments.get(namespace="linkerd").to_dict()["items"]
        return len(items) == 3 and all((d.get("status") or {}).get("availableReplicas") == 1 for d in items)

    sim.wait_for(available, what="the fixture control plane to roll out")
    return sim


def test_installed_fixture_control_plane_passes(cluster, run_module):
    out = run_module(linkerd_check.main, {"kubeconfig": cluster.kubeconfig, "cli": "never"})
    assert out.kind == "exit", out.result.get("msg")
    assert out.result["summary"] == {"ok": 19, "warning": 0, "error": 0}
    assert out.result["changed"] is False
    assert out.result["control_plane_version"] == "edge-26.8.3"
    assert out.result["issuer"]["subject"] == "CN=identity.linkerd.cluster.local"
    assert "PRIVATE KEY" not in repr(out.result)


def test_missing_webhook_and_empty_namespace_fail_with_one_summary(cluster, run_module):
    webhooks = cluster.dynamic_client().resources.get(
        api_version="admissionregistration.k8s.io/v1", kind="ValidatingWebhookConfiguration")
    saved = webhooks.get(name="linkerd-sp-validator-webhook-config").to_dict()
    webhooks.delete(name="linkerd-sp-validator-webhook-config")
    try:
        out = run_module(linkerd_check.main, {"kubeconfig": cluster.kubeconfig, "cli": "never", "data_plane_namespaces": ["default"]})
    finally:
        for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
            saved["metadata"].pop(key, None)
        webhooks.create(body=saved)
    assert out.kind == "fail"
    assert out.result["msg"] == (
        "Linkerd check failed (1 of 20 checks): webhook linkerd-sp-validator-webhook-config: "
        "validating webhook configuration missing"
    )
    assert out.result["summary"] == {"ok": 18, "warning": 1, "error": 1}


def test_unreachable_cluster_fails_clearly(tmp_path, run_module):
    out = run_module(linkerd_check.main, {"kubeconfig": str(tmp_path / "missing"), "cli": "never"})
    assert out.kind == "fail"
    assert out.result["msg"].startswith("Failed to load the Kubernetes configuration")


def test_viz_fixture_passes_and_an_absent_viz_fails(cluster, run_module):
    client = cluster.dynamic_client()
    docs = [d for d in yaml.safe_load_all((ROOT / "lab/fixtures/linkerd/viz/linkerd-viz.yaml").read_text()) if d]
    for doc in docs:
        client.resources.get(api_version=doc["apiVersion"], kind=doc["kind"]).create(
            body=doc, namespace=doc["metadata"].get("namespace"))
    deployments = client.resources.get(api_version="apps/v1", kind="Deployment")

    def available():
        items = deployments.get(namespace="linkerd-viz").to_dict()["items"]
        return len(items) == 5 and all((d.get("status") or {}).get("availableReplicas") == 1 for d in items)

    cluster.wait_for(available, what="the fixture linkerd-viz to roll out")
    out = run_module(linkerd_check.main, {"kubeconfig": cluster.kubeconfig, "cli": "never", "viz_namespace": "linkerd-viz"})
    assert out.kind == "exit", out.result.get("msg")
    assert out.result["summary"] == {"ok": 26, "warning": 0, "error": 0}
    viz = [r["name"] for r in out.result["results"] if r["name"].startswith("viz deployment")]
    assert viz == ["viz deployment " + n for n in ("metrics-api", "prometheus", "tap", "tap-injector", "web")]

    out = run_module(linkerd_check.main, {"kubeconfig": cluster.kubeconfig, "cli": "never", "viz_namespace": "no-viz-here",
                                          "viz_deployments": ["metrics-api", "web"]})
    assert out.kind == "fail"
    assert out.result["msg"].startswith("Linkerd check failed (2 of 23 checks): viz deployment metrics-api: Deployment missing")
