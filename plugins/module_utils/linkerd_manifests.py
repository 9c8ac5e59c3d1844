# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put this collection's identity certificates into pre-rendered Linkerd manifests.

Air-gapped sites render Linkerd once (``linkerd install --crds``, ``linkerd install`` or
``helm template``) and apply the YAML. Whatever trust anchors and issuer were rendered in are
replaced here by the linkerd_identity role's, everywhere Linkerd 2.20 carries them: the
trust-roots ConfigMap, the issuer Secret, the ``identityTrustAnchorsPEM`` value inside
linkerd-config (the proxy injector renders new proxies from it), inline
LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS values of control-plane proxies, and the
``linkerd.io/trust-root-sha256`` pod-template annotation (which also rolls the control plane
when the bundle changes).
"""

from __future__ import annotations

import base64
import hashlib

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

TRUST_ROOTS = "linkerd-identity-trust-roots"
ISSUER_SECRET = "linkerd-identity-issuer"
LINKERD_CONFIG = "linkerd-config"
ANCHORS_ENV = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS"
ROOT_SHA_ANNOTATION = "linkerd.io/trust-root-sha256"
POD_TEMPLATE_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job")
ISSUER_SCHEMES = ("linkerd.io/tls", "kubernetes.io/tls")


class ManifestError(Exception):
    """The manifests or certificates cannot be combined; the message says why."""


def _b64(text):
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def flatten(docs):
    """Documents of one or more YAML streams, without empty documents and with List kinds expanded."""
    out = []
    for doc in docs or []:
        if not doc:
            continue
        if not isinstance(doc, dict) or "kind" not in doc:
            raise ManifestError("not a Kubernetes object: %r" % (str(doc)[:80],))
        if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
            out.extend(flatten(doc["items"]))
        else:
            out.append(doc)
    return out


def plain_copy(value):
    """A copy of YAML data as plain dicts, lists and scalars. Ansible hands filters its own tagged
    subclasses of str and int (each carrying where it was read from); copy.deepcopy of those takes
    seconds for a full `linkerd install` output, this a few milliseconds."""
    if isinstance(value, dict):
        return {plain_copy(key): plain_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(item) for item in value]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def is_crd(doc):
    return doc.get("kind") == "CustomResourceDefinition"


def _is(doc, kind, name, namespace):
    meta = doc.get("metadata") or {}
    return doc.get("kind") == kind and meta.get("name") == name and meta.get("namespace", namespace) == namespace


def _pod_template(doc):
    if doc.get("kind") in POD_TEMPLATE_KINDS:
        return (doc.get("spec") or {}).get("template")
    if doc.get("kind") == "CronJob":
        return (((doc.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template")
    return None


def _replace_in_template(template, bundle, bundle_sha):
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    if ROOT_SHA_ANNOTATION in annotations:
        annotations[ROOT_SHA_ANNOTATION] = bundle_sha
    spec = template.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for env in container.get("env") or []:
            if env.get("name") == ANCHORS_ENV and "value" in env:
                env["value"] = bundle


def _replace_config_values(doc, bundle):
    data = doc.get("data") or {}
    if "values" not in data:
        return
    if not HAS_YAML:
        raise ManifestError("PyYAML is needed to update the linkerd-config ConfigMap")
    values = yaml.safe_load(data["values"]) or {}
    if values.get("identityTrustAnchorsPEM") != bundle:
        values["identityTrustAnchorsPEM"] = bundle
        data["values"] = yaml.safe_dump(values, default_flow_style=False, sort_keys=True)


def inject_identity(docs, trust_anchors_pem, issuer_crt_pem="", issuer_key_pem="",
                    issuer_scheme="linkerd.io/tls", namespace="linkerd"):
    """A copy of ``docs`` carrying these certificates; the trust-roots ConfigMap and (with
    linkerd.io/tls) the issuer Secret are added when the manifests lack them. With
    kubernetes.io/tls the issuer Secret belongs to cert-manager and is removed from the set."""
    if issuer_scheme not in ISSUER_SCHEMES:
        raise ManifestError("unknown issuer scheme %r; expected one of %s" % (issuer_scheme, ", ".join(ISSUER_SCHEMES)))
    bundle = (trust_anchors_pem or "").strip()
    if "BEGIN CERTIFICATE" not in bundle:
        raise ManifestError("the trust anchors are empty; run the linkerd_identity role first")
    own_issuer = issuer_scheme == "linkerd.io/tls"
    if own_issuer and ("BEGIN CERTIFICATE" not in (issuer_crt_pem or "") or "PRIVATE KEY" not in (issuer_key_pem or "")):
        raise ManifestError("the issuer certificate or key is empty; run the linkerd_identity role first")
    bundle_pem = bundle + "\n"
    bundle_sha = hashlib.sha256(bundle_pem.encode("ascii")).hexdigest()
    trust_roots = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": TRUST_ROOTS, "namespace": namespace,
                     "labels": {"linkerd.io/control-plane-component": "identity", "linkerd.io/control-plane-ns": namespace}},
        "data": {"ca-bundle.crt": bundle_pem},
    }
    issuer = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": ISSUER_SECRET, "namespace": namespace,
                     "labels": {"linkerd.io/control-plane-component": "identity", "linkerd.io/control-plane-ns": namespace}},
        "data": {"crt.pem": _b64((issuer_crt_pem or "").strip() + "\n"), "key.pem": _b64((issuer_key_pem or "").strip() + "\n")},
    }
    out, seen_roots, seen_issuer = [], False, False
    for doc in flatten(plain_copy(docs)):
        if _is(doc, "ConfigMap", TRUST_ROOTS, namespace):
            doc.setdefault("data", {})["ca-bundle.crt"] = bundle_pem
            seen_roots = True
        elif _is(doc, "Secret", ISSUER_SECRET, namespace):
            if not own_issuer:
                continue
            doc.pop("stringData", None)
            doc["data"] = dict(issuer["data"])
            seen_issuer = True
        elif _is(doc, "ConfigMap", LINKERD_CONFIG, namespace):
            _replace_config_values(doc, bundle_pem)
        template = _pod_template(doc)
        if template:
            _replace_in_template(template, bundle_pem, bundle_sha)
        out.append(doc)
    if not seen_roots:
        out.append(trust_roots)
    if own_issuer and not seen_issuer:
        out.append(issuer)
    return out


def restart_patches(workloads, namespaces, annotation, digest):
    """Merge patches that stamp ``annotation: digest`` on the pod template of every workload of
    ``namespaces`` whose template carries another value (or none); changing the template makes
    its controller replace the pods, as ``kubectl rollout restart`` does."""
    patches = []
    for obj in workloads or []:
        meta = obj.get("metadata") or {}
        if meta.get("namespace") not in namespaces:
            continue
        template = (obj.get("spec") or {}).get("template") or {}
        if ((template.get("metadata") or {}).get("annotations") or {}).get(annotation) == digest:
            continue
        patches.append({
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
            "spec": {"template": {"metadata": {"annotations": {annotation: digest}}}},
        })
    return patches
