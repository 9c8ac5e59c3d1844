# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linkerd_health checks on snapshots shaped as the Kubernetes API returns them."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from linkerd_certgen import NOW, issuer_of, make, pem

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_health as health


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def pki():
    anchor = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    return {"anchor": anchor, "issuer": issuer_of(anchor)[0], "webhook_ca": make("linkerd-proxy-injector.linkerd.svc")[0]}


def healthy(pki):
    crds = {
        name: {"metadata": {"name": name}, "status": {"conditions": [{"type": "Established", "status": "True"}]}}
        for name in health.DEFAULT_CRDS
    }
    deployments = {
        name: {
            "metadata": {"name": name, "namespace": "linkerd", "labels": {"app.kubernetes.io/version": "edge-26.8.3"}},
            "spec": {"replicas": 1},
            "status": {"availableReplicas": 1, "conditions": [{"type": "Available", "status": "True"}]},
        }
        for name in health.DEFAULT_DEPLOYMENTS
    }
    hook = {"name": "x.linkerd.io", "clientConfig": {"caBundle": b64(pem(pki["webhook_ca"]))}}
    return {
        "crds": crds,
        "deployments": deployments,
        "mutating": {n: {"metadata": {"name": n}, "webhooks": [hook]} for n in health.MUTATING_WEBHOOKS},
        "validating": {n: {"metadata": {"name": n}, "webhooks": [hook]} for n in health.VALIDATING_WEBHOOKS},
        "trust_roots": {"data": {"ca-bundle.crt": pem(pki["anchor"][0])}},
        "issuer_crt": pem(pki["issuer"]),
        "pods": {},
    }


def statuses(results):
    return {r["name"]: r["status"] for r in results}


def test_healthy_install_passes_every_check(pki):
    results, facts = health.evaluate(healthy(pki), now=NOW)
    assert {r["status"] for r in results} == {"ok"}
    assert len(results) == len(health.DEFAULT_CRDS) + 3 + 3 + 3
    assert health.summarize(results) is None
    assert facts["control_plane_version"] == "edge-26.8.3"
    assert facts["issuer"]["subject"] == "CN=identity.linkerd.cluster.local"


def test_missing_and_unestablished_crds_fail(pki):
    snap = healthy(pki)
    del snap["crds"]["servers.policy.linkerd.io"]
    snap["crds"]["serviceprofiles.linkerd.io"]["status"]["conditions"][0]["status"] = "False"
    results = health.evaluate(snap, now=NOW)[0]
    got = statuses(results)
    assert got["crd servers.policy.linkerd.io"] == "error"
    assert got["crd serviceprofiles.linkerd.io"] == "error"
    message = health.summarize(results)
    assert message.startswith("Linkerd check failed (2 of ")
    assert "CRD missing" in message and "not established" in message


def test_unavailable_deployment_fails_with_counts(pki):
    snap = healthy(pki)
    snap["deployments"]["linkerd-destination"]["spec"]["replicas"] = 3
    results = health.evaluate(snap, now=NOW)[0]
    entry = next(r for r in results if r["name"] == "deployment linkerd-destination")
    assert entry["status"] == "error"
    assert entry["hint"].startswith("1 of 3 replicas available")


@pytest.mark.parametrize("bundle, fragment", [("", "has no caBundle"), (b64("garbage"), "contains no PEM certificate")])
def test_webhook_without_usable_ca_bundle_fails(pki, bundle, fragment):
    snap = healthy(pki)
    snap["validating"]["linkerd-policy-validator-webhook-config"]["webhooks"] = [
        {"name": "linkerd-policy-validator.linkerd.io", "clientConfig": {"caBundle": bundle}}
    ]
    results = health.evaluate(snap, now=NOW)[0]
    entry = next(r for r in results if r["name"] == "webhook linkerd-policy-validator-webhook-config")
    assert entry["status"] == "error" and fragment in entry["hint"]


def test_missing_webhook_configuration_fails(pki):
    snap = healthy(pki)
    snap["mutating"] = {}
    assert statuses(health.evaluate(snap, now=NOW)[0])["webhook linkerd-proxy-injector-webhook-config"] == "error"


def test_issuer_from_another_anchor_fails_the_chain(pki):
    snap = healthy(pki)
    snap["issuer_crt"] = pem(issuer_of(make("root.linkerd.cluster.local"))[0])
    got = statuses(health.evaluate(snap, now=NOW)[0])
    assert got["issuer chain"] == "error"


def test_bundle_of_two_anchors_accepts_issuer_of_either(pki):
    snap = healthy(pki)
    other = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    snap["trust_roots"]["data"]["ca-bundle.crt"] = pem(other[0], pki["anchor"][0])
    results, facts = health.evaluate(snap, now=NOW)
    assert statuses(results)["issuer chain"] == "ok"
    assert len(facts["trust_anchors"]) == 2


def test_issuer_expiry_warns_then_fails(pki):
    snap = healthy(pki)
    snap["issuer_crt"] = pem(issuer_of(pki["anchor"], start=-320, days=365)[0])
    results = health.evaluate(snap, now=NOW)[0]
    entry = next(r for r in results if r["name"] == "issuer expiry")
    assert entry["status"] == "warning" and "expires in 45 days" in entry["hint"]
    assert health.summarize(results) is None  # a warning alone does not fail the gate
    snap["issuer_crt"] = pem(issuer_of(pki["anchor"], start=-400, days=365)[0])
    assert statuses(health.evaluate(snap, now=NOW)[0])["issuer expiry"] == "error"


def test_unparsable_trust_bundle_fails(pki):
    snap = healthy(pki)
    snap["trust_roots"]["data"]["ca-bundle.crt"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    entry = next(r for r in health.evaluate(snap, now=NOW)[0] if r["name"] == "trust anchors")
    assert entry["status"] == "error" and "does not parse" in entry["hint"]


def test_missing_identity_objects_fail(pki):
    snap = healthy(pki)
    snap["trust_roots"] = None
    snap["issuer_crt"] = None
    got = statuses(health.evaluate(snap, now=NOW)[0])
    assert got["trust anchors"] == "error"


def pod(name, proxy_ready=True, version="edge-26.8.3", native=True, with_proxy=True):
    proxy = {"name": "linkerd-proxy", "restartPolicy": "Always"}
    spec = {"containers": [{"name": "app"}], "initContainers": []}
    status = {"phase": "Running", "containerStatuses": [{"name": "app", "ready": True}], "initContainerStatuses": []}
    if with_proxy:
        (spec["initContainers"] if native else spec["containers"]).append(proxy)
        (status["initContainerStatuses"] if native else status["containerStatuses"]).append(
            {"name": "linkerd-proxy", "ready": proxy_ready})
    return {"metadata": {"name": name, "annotations": {"linkerd.io/proxy-version": version}}, "spec": spec, "status": status}


def test_data_plane_checks_every_pod(pki):
    snap = healthy(pki)
    snap["pods"] = {
        "good": [pod("a"), pod("b", native=False)],
        "bad": [pod("c", with_proxy=False), pod("d", proxy_ready=False), pod("e", version="edge-26.6.3")],
        "empty": [],
    }
    results = health.evaluate(snap, now=NOW)[0]
    got = {r["name"]: r for r in results}
    assert got["data plane good"]["status"] == "ok"
    assert got["data plane empty"]["status"] == "warning"
    hint = got["data plane bad"]["hint"]
    assert got["data plane bad"]["status"] == "error"
    assert "c: linkerd-proxy missing" in hint
    assert "d: linkerd-proxy not ready" in hint
    assert "e: proxy edge-26.6.3, control plane edge-26.8.3" in hint


def test_finished_pods_are_ignored(pki):
    snap = healthy(pki)
    done = pod("job-1", with_proxy=False)
    done["status"]["phase"] = "Succeeded"
    snap["pods"] = {"jobs": [done, pod("web")]}
    assert statuses(health.evaluate(snap, now=NOW)[0])["data plane jobs"] == "ok"


def test_cli_json_is_mapped():
    text = json.dumps({"success": False, "categories": [{"categoryName": "linkerd-identity", "checks": [
        {"description": "issuer cert is valid for at least 60 days", "result": "warning", "hint": "https://linkerd.io/checks"},
        {"description": "trust anchors are valid", "result": "success"},
        {"description": "control plane pods are ready", "result": "error", "error": "no running pods"},
    ]}]})
    got = health.parse_cli_json(text)
    assert [r["status"] for r in got] == ["warning", "ok", "error"]
    assert got[0]["name"] == "cli: linkerd-identity: issuer cert is valid for at least 60 days"
    assert got[2]["hint"] == "no running pods"


def test_evaluate_does_not_modify_the_snapshot(pki):
    snap = healthy(pki)
    before = copy.deepcopy(snap)
    health.evaluate(snap, now=NOW)
    assert snap == before


# linkerd-viz ---------------------------------------------------------------------------------

VIZ = ("metrics-api", "prometheus", "tap", "tap-injector", "web")


def with_viz(pki, names=VIZ, version="edge-26.8.3"):
    snap = healthy(pki)
    snap["viz_deployments"] = {
        name: {
            "metadata": {"name": name, "namespace": "linkerd-viz", "labels": {"app.kubernetes.io/version": version}},
            "spec": {"replicas": 1},
            "status": {"availableReplicas": 1, "conditions": [{"type": "Available", "status": "True"}]},
        }
        for name in names
    }
    hook = {"name": "tap-injector.linkerd.io", "clientConfig": {"caBundle": b64(pem(pki["webhook_ca"]))}}
    snap["mutating"]["linkerd-tap-injector-webhook-config"] = {"metadata": {"name": "linkerd-tap-injector-webhook-config"}, "webhooks": [hook]}
    return snap


def test_viz_is_checked_only_when_gathered(pki):
    without = statuses(health.evaluate(healthy(pki), now=NOW)[0])
    assert not [name for name in without if "viz" in name or "tap-injector" in name]
    got = statuses(health.evaluate(with_viz(pki), now=NOW)[0])
    viz = {name: status for name, status in got.items() if name not in without}
    assert viz == {
        "viz deployment metrics-api": "ok", "viz deployment prometheus": "ok", "viz deployment tap": "ok",
        "viz deployment tap-injector": "ok", "viz deployment web": "ok",
        "webhook linkerd-tap-injector-webhook-config": "ok", "viz version": "ok",
    }


def test_viz_without_its_prometheus_fails_unless_an_external_one_is_used(pki):
    snap = with_viz(pki, names=("metrics-api", "tap", "tap-injector", "web"))
    results = health.evaluate(snap, now=NOW)[0]
    entry = next(r for r in results if r["name"] == "viz deployment prometheus")
    assert entry["status"] == "error" and "linkerd-viz namespace" in entry["hint"]
    external = health.evaluate(snap, now=NOW, viz_deployments=("metrics-api", "tap", "tap-injector", "web"))[0]
    assert health.summarize(external) is None


def test_unavailable_viz_deployment_and_tap_injector_webhook_fail(pki):
    snap = with_viz(pki)
    snap["viz_deployments"]["tap"]["status"] = {"availableReplicas": 0}
    snap["mutating"]["linkerd-tap-injector-webhook-config"]["webhooks"][0]["clientConfig"]["caBundle"] = ""
    results = health.evaluate(snap, now=NOW)[0]
    message = health.summarize(results)
    assert message.startswith("Linkerd check failed (2 of ")
    assert "viz deployment tap: 0 of 1 replicas available; see kubectl -n linkerd-viz describe deploy/tap" in message
    assert "webhook linkerd-tap-injector-webhook-config: tap-injector.linkerd.io has no caBundle" in message


def test_viz_of_another_release_warns(pki):
    snap = with_viz(pki, version="edge-26.6.3")
    entry = next(r for r in health.evaluate(snap, now=NOW)[0] if r["name"] == "viz version")
    assert entry["status"] == "warning"
    assert entry["hint"].startswith("control plane edge-26.8.3, linkerd-viz metrics-api edge-26.6.3, prometheus edge-26.6.3")
