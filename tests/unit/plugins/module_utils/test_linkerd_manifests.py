# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""inject_identity on documents shaped like `linkerd install` output (Linkerd 2.20 chart)."""

from __future__ import annotations

import base64
import hashlib

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from cryptography.hazmat.primitives import serialization
from linkerd_certgen import issuer_of, make, pem

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_manifests as lm

RENDERED = """
apiVersion: v1
kind: Namespace
metadata: {name: linkerd}
---
---
kind: ConfigMap
apiVersion: v1
metadata: {name: linkerd-identity-trust-roots, namespace: linkerd}
data:
  ca-bundle.crt: |
    -----BEGIN CERTIFICATE-----
    OLDANCHOR
    -----END CERTIFICATE-----
---
kind: Secret
apiVersion: v1
metadata: {name: linkerd-identity-issuer, namespace: linkerd}
data: {crt.pem: T0xE, key.pem: T0xE}
---
kind: ConfigMap
apiVersion: v1
metadata: {name: linkerd-config, namespace: linkerd}
data:
  values: |
    controllerReplicas: 1
    identityTrustAnchorsPEM: |
      -----BEGIN CERTIFICATE-----
      OLDANCHOR
      -----END CERTIFICATE-----
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: linkerd-destination, namespace: linkerd}
spec:
  template:
    metadata:
      annotations: {linkerd.io/trust-root-sha256: old, other: keep}
    spec:
      initContainers:
      - name: linkerd-proxy
        env:
        - {name: LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS, value: OLD}
        - {name: LINKERD2_PROXY_LOG, value: warn}
      containers:
      - name: destination
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: linkerd-identity, namespace: linkerd}
spec:
  template:
    spec:
      containers:
      - name: linkerd-proxy
        env:
        - name: LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS
          valueFrom: {configMapKeyRef: {name: linkerd-identity-trust-roots, key: ca-bundle.crt}}
"""


@pytest.fixture(scope="module")
def material():
    anchor = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    issuer, key = issuer_of(anchor)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return {"anchors": pem(anchor[0]), "crt": pem(issuer), "key": key_pem}


def by_name(docs):
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_every_place_of_the_anchors_is_replaced(material):
    docs = list(yaml.safe_load_all(RENDERED))
    out = by_name(lm.inject_identity(docs, material["anchors"], material["crt"], material["key"]))
    bundle = material["anchors"].strip() + "\n"
    assert out[("ConfigMap", "linkerd-identity-trust-roots")]["data"]["ca-bundle.crt"] == bundle
    secret = out[("Secret", "linkerd-identity-issuer")]["data"]
    assert base64.b64decode(secret["crt.pem"]).decode() == material["crt"].strip() + "\n"
    assert base64.b64decode(secret["key.pem"]).decode() == material["key"].strip() + "\n"
    values = yaml.safe_load(out[("ConfigMap", "linkerd-config")]["data"]["values"])
    assert values == {"controllerReplicas": 1, "identityTrustAnchorsPEM": bundle}
    template = out[("Deployment", "linkerd-destination")]["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "linkerd.io/trust-root-sha256": hashlib.sha256(bundle.encode()).hexdigest(), "other": "keep"}
    env = template["spec"]["initContainers"][0]["env"]
    assert env == [{"name": "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS", "value": bundle},
                   {"name": "LINKERD2_PROXY_LOG", "value": "warn"}]
    # A reference to the ConfigMap stays a reference.
    identity_env = out[("Deployment", "linkerd-identity")]["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert "valueFrom" in identity_env and "value" not in identity_env


def test_input_is_not_modified_and_output_is_stable(material):
    docs = list(yaml.safe_load_all(RENDERED))
    before = yaml.safe_dump_all(docs)
    first = lm.inject_identity(docs, material["anchors"], material["crt"], material["key"])
    assert yaml.safe_dump_all(docs) == before
    # Injecting into already injected documents changes nothing: reruns apply the same objects.
    assert lm.inject_identity(first, material["anchors"], material["crt"], material["key"]) == first


def test_documents_as_ansible_hands_them_are_copied_into_plain_types(material):
    # Ansible's loader returns tagged subclasses of str and int; the injected copy must be plain
    # (and so cheap to copy), equal in value, and share nothing with the input.
    tagged = DataLoader().load(RENDERED.split("---\n---\n")[1])
    assert tagged["metadata"]["name"].__class__ is not str
    copied = lm.plain_copy([tagged, {"n": DataLoader().load("7"), "f": 2.5, "b": True, "z": None}])
    assert copied[0] == tagged and copied[1] == {"n": 7, "f": 2.5, "b": True, "z": None}
    assert {type(v) for v in (copied[0]["metadata"]["name"], copied[0]["data"]["ca-bundle.crt"], copied[1]["n"])} == {str, int}
    copied[0]["metadata"]["name"] = "changed"
    assert tagged["metadata"]["name"] == "linkerd-identity-trust-roots"
    injected = lm.inject_identity([tagged], material["anchors"], material["crt"], material["key"])
    assert injected[0]["metadata"]["namespace"].__class__ is str


def test_missing_identity_objects_are_added(material):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mesh"}}]
    out = by_name(lm.inject_identity(docs, material["anchors"], material["crt"], material["key"], namespace="mesh"))
    assert out[("ConfigMap", "linkerd-identity-trust-roots")]["metadata"]["namespace"] == "mesh"
    assert ("Secret", "linkerd-identity-issuer") in out


def test_cert_manager_scheme_drops_the_issuer_secret(material):
    docs = list(yaml.safe_load_all(RENDERED))
    out = by_name(lm.inject_identity(docs, material["anchors"], issuer_scheme="kubernetes.io/tls"))
    assert ("Secret", "linkerd-identity-issuer") not in out
    assert ("ConfigMap", "linkerd-identity-trust-roots") in out


def test_lists_are_expanded():
    docs = [{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]}]
    assert lm.flatten(docs) == [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]


@pytest.mark.parametrize("kwargs, message", [
    ({"trust_anchors_pem": ""}, "trust anchors are empty"),
    ({"issuer_key_pem": ""}, "issuer certificate or key is empty"),
    ({"issuer_scheme": "cert-manager"}, "unknown issuer scheme"),
])
def test_unusable_input_is_refused_without_echoing_it(material, kwargs, message):
    args = {"trust_anchors_pem": material["anchors"], "issuer_crt_pem": material["crt"], "issuer_key_pem": material["key"]}
    args.update(kwargs)
    with pytest.raises(lm.ManifestError, match=message) as err:
        lm.inject_identity([], **args)
    assert "PRIVATE KEY" not in str(err.value)


def test_non_object_document_is_refused():
    with pytest.raises(lm.ManifestError, match="not a Kubernetes object"):
        lm.flatten(["just a string"])


def workload(kind, ns, name, stamp=None):
    annotations = {"other": "x"}
    if stamp:
        annotations["gpu-mesh.hymt.io/trust-bundle-sha256"] = stamp
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {"annotations": annotations}}}}


def test_restart_patches_only_for_stale_workloads_of_the_namespaces():
    workloads = [
        workload("Deployment", "mesh", "unstamped"),
        workload("StatefulSet", "mesh", "old", stamp="old-digest"),
        workload("DaemonSet", "mesh", "current", stamp="new-digest"),
        workload("Deployment", "elsewhere", "ignored"),
    ]
    patches = lm.restart_patches(workloads, ["mesh"], "gpu-mesh.hymt.io/trust-bundle-sha256", "new-digest")
    assert [(p["kind"], p["metadata"]["name"]) for p in patches] == [("Deployment", "unstamped"), ("StatefulSet", "old")]
    assert patches[1] == {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "old", "namespace": "mesh"},
        "spec": {"template": {"metadata": {"annotations": {"gpu-mesh.hymt.io/trust-bundle-sha256": "new-digest"}}}},
    }
    assert lm.restart_patches(workloads[2:3], ["mesh"], "gpu-mesh.hymt.io/trust-bundle-sha256", "new-digest") == []
