# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health checks of a Linkerd installation, read through the Kubernetes API (module linkerd_check).

``gather()`` reads the objects in a fixed, small number of API calls into a plain snapshot
(dictionaries as the API returns them); ``evaluate()`` turns a snapshot into results
``{name, status, hint}`` with status ok, warning or error. The checks never see the issuer's
private key: gather() keeps only the certificate of the issuer Secret.
"""

from __future__ import annotations

import base64
import json
import os

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_certs as certs
from ansible_collections.hymt.gpu_mesh.plugins.module_utils.k8s_common import k8s_client, read_json

# Linkerd 2.20 names (charts/linkerd-crds, charts/linkerd-control-plane of linkerd/linkerd2).
DEFAULT_CRDS = (
    "authorizationpolicies.policy.linkerd.io",
    "egressnetworks.policy.linkerd.io",
    "externalworkloads.workload.linkerd.io",
    "httplocalratelimitpolicies.policy.linkerd.io",
    "httproutes.policy.linkerd.io",
    "meshtlsauthentications.policy.linkerd.io",
    "networkauthentications.policy.linkerd.io",
    "serverauthorizations.policy.linkerd.io",
    "servers.policy.linkerd.io",
    "serviceprofiles.linkerd.io",
)
DEFAULT_DEPLOYMENTS = ("linkerd-destination", "linkerd-identity", "linkerd-proxy-injector")
MUTATING_WEBHOOKS = ("linkerd-proxy-injector-webhook-config",)
VALIDATING_WEBHOOKS = ("linkerd-policy-validator-webhook-config", "linkerd-sp-validator-webhook-config")
# The linkerd-viz extension (viz/charts/linkerd-viz); prometheus is absent with an external Prometheus.
DEFAULT_VIZ_DEPLOYMENTS = ("metrics-api", "prometheus", "tap", "tap-injector", "web")
VIZ_MUTATING_WEBHOOKS = ("linkerd-tap-injector-webhook-config",)
TRUST_ROOTS = "linkerd-identity-trust-roots"
ISSUER_SECRET = "linkerd-identity-issuer"
ISSUER_CERT_KEYS = ("crt.pem", "tls.crt")  # linkerd.io/tls, kubernetes.io/tls (cert-manager)
PROXY = "linkerd-proxy"
VERSION_LABEL = "app.kubernetes.io/version"
PROXY_VERSION_ANNOTATION = "linkerd.io/proxy-version"

OK, WARNING, ERROR = "ok", "warning", "error"


def result(name, status, hint="", **details):
    entry = {"name": name, "status": status, "hint": hint}
    entry.update(details)
    return entry


def _by_name(items):
    return {item["metadata"]["name"]: item for item in items or []}


def _condition(obj, kind):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


# Gathering -----------------------------------------------------------------------------------

def gather(api_client, namespace, data_plane_namespaces=(), viz_namespace=None):
    """Read everything the checks need; ``api_client`` is a kubernetes.client.ApiClient. The
    Deployments of ``viz_namespace`` are read only when it is given (else ``viz_deployments`` is None)."""
    raw = read_json
    ext = k8s_client.ApiextensionsV1Api(api_client)
    apps = k8s_client.AppsV1Api(api_client)
    adm = k8s_client.AdmissionregistrationV1Api(api_client)
    core = k8s_client.CoreV1Api(api_client)
    snapshot = {
        "crds": _by_name(raw(ext.list_custom_resource_definition)["items"]),
        "deployments": _by_name(raw(apps.list_namespaced_deployment, namespace)["items"]),
        "mutating": _by_name(raw(adm.list_mutating_webhook_configuration)["items"]),
        "validating": _by_name(raw(adm.list_validating_webhook_configuration)["items"]),
        "trust_roots": raw(core.read_namespaced_config_map, TRUST_ROOTS, namespace),
        "issuer_crt": None,
        "pods": {},
        "viz_deployments": _by_name(raw(apps.list_namespaced_deployment, viz_namespace)["items"]) if viz_namespace else None,
    }
    # Only the certificate of the issuer Secret is kept; its key goes no further than this loop.
    secret = raw(core.read_namespaced_secret, ISSUER_SECRET, namespace)
    if secret is not None:
        data = secret.get("data") or {}
        for key in ISSUER_CERT_KEYS:
            if data.get(key):
                snapshot["issuer_crt"] = base64.b64decode(data[key]).decode("ascii", "replace")
                break
    for ns in data_plane_namespaces:
        snapshot["pods"][ns] = raw(core.list_namespaced_pod, ns)["items"]
    return snapshot


# Checks --------------------------------------------------------------------------------------

def check_crds(crds, wanted):
    out = []
    for name in wanted:
        crd = crds.get(name)
        if crd is None:
            out.append(result("crd " + name, ERROR, "CRD missing: install the linkerd-crds chart or manifests"))
            continue
        cond = _condition(crd, "Established")
        if not cond or cond.get("status") != "True":
            out.append(result("crd " + name, ERROR, "CRD not established yet: the API server has not accepted it"))
        else:
            out.append(result("crd " + name, OK))
    return out


def check_deployments(deployments, wanted, label="deployment ", missing_hint="Deployment missing from the control-plane namespace"):
    out = []
    for name in wanted:
        dep = deployments.get(name)
        if dep is None:
            out.append(result(label + name, ERROR, missing_hint))
            continue
        want = (dep.get("spec") or {}).get("replicas", 1)
        status = dep.get("status") or {}
        cond = _condition(dep, "Available")
        available = status.get("availableReplicas") or 0
        if cond and cond.get("status") == "True" and available >= want:
            out.append(result(label + name, OK, replicas=available))
        else:
            out.append(result(
                label + name, ERROR,
                "%d of %d replicas available; see kubectl -n %s describe deploy/%s"
                % (available, want, dep["metadata"].get("namespace", "linkerd"), name),
            ))
    return out


def check_webhooks(mutating, validating, now=None, mutating_names=MUTATING_WEBHOOKS, validating_names=VALIDATING_WEBHOOKS):
    out = []
    for kind, found, names in (("mutating", mutating, mutating_names), ("validating", validating, validating_names)):
        for name in names:
            config = found.get(name)
            label = "webhook " + name
            if config is None:
                out.append(result(label, ERROR, "%s webhook configuration missing" % kind))
                continue
            hooks = config.get("webhooks") or []
            problems = []
            for hook in hooks:
                bundle = (hook.get("clientConfig") or {}).get("caBundle")
                if not bundle:
                    problems.append("%s has no caBundle" % hook.get("name"))
                    continue
                try:
                    ca = certs.load_certs(base64.b64decode(bundle).decode("ascii", "replace"), "caBundle")
                except (certs.CertError, ValueError) as exc:
                    problems.append("%s: %s" % (hook.get("name"), exc))
                    continue
                if all(certs.is_expired(c, now) for c in ca):
                    problems.append("%s: caBundle expired" % hook.get("name"))
            if not hooks:
                problems.append("no webhooks defined")
            if problems:
                out.append(result(label, ERROR, "; ".join(problems)))
            else:
                out.append(result(label, OK))
    return out


def check_identity(trust_roots, issuer_crt, warn_days=60, now=None):
    """Trust bundle parses, issuer chains to it, days to expiry of both. Returns (results, facts)."""
    out, facts = [], {"trust_anchors": [], "issuer": None}
    if trust_roots is None:
        return [result("trust anchors", ERROR, "ConfigMap %s missing" % TRUST_ROOTS)], facts
    try:
        anchors = certs.load_certs((trust_roots.get("data") or {}).get("ca-bundle.crt"), TRUST_ROOTS + " ca-bundle.crt")
    except certs.CertError as exc:
        return [result("trust anchors", ERROR, str(exc))], facts
    facts["trust_anchors"] = [certs.describe(a, now) for a in anchors]
    valid = [a for a in anchors if not certs.is_expired(a, now)]
    if not valid:
        out.append(result("trust anchors", ERROR, "every trust anchor has expired; replace the anchor (rotation step replace)"))
    else:
        soonest = min(certs.days_left(a, now) for a in valid)
        if soonest < warn_days:
            out.append(result("trust anchors", WARNING, "a trust anchor expires in %d days; rotate it" % soonest))
        else:
            out.append(result("trust anchors", OK, days_left=soonest))
    if not issuer_crt:
        out.append(result("issuer", ERROR, "Secret %s missing or without a certificate" % ISSUER_SECRET))
        return out, facts
    try:
        issuer = certs.load_certs(issuer_crt, ISSUER_SECRET)[0]
    except certs.CertError as exc:
        out.append(result("issuer", ERROR, str(exc)))
        return out, facts
    facts["issuer"] = certs.describe(issuer, now)
    index = certs.chain_index(issuer, anchors)
    if index is None:
        out.append(result("issuer chain", ERROR, "the issuer is not signed by any anchor of the trust bundle; "
                                                 "reissue it from the anchor (or finish the rotation steps in order)"))
    elif certs.is_expired(anchors[index], now):
        out.append(result("issuer chain", ERROR, "the issuer chains only to an expired trust anchor"))
    else:
        out.append(result("issuer chain", OK))
    days = certs.days_left(issuer, now)
    if certs.is_expired(issuer, now):
        out.append(result("issuer expiry", ERROR, "the issuer certificate has expired; rerun the linkerd_identity role to recover"))
    elif days < warn_days:
        out.append(result("issuer expiry", WARNING, "the issuer certificate expires in %d days; renew it" % days))
    else:
        out.append(result("issuer expiry", OK, days_left=days))
    return out, facts


def _version_label(obj):
    return ((obj.get("metadata") or {}).get("labels") or {}).get(VERSION_LABEL)


def control_plane_version(deployments):
    return _version_label(deployments.get("linkerd-identity") or {})


def _proxy_status(pod):
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    if not any(c.get("name") == PROXY for c in containers):
        return "missing"
    statuses = (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    for st in statuses:
        if st.get("name") == PROXY:
            return "ready" if st.get("ready") else "not ready"
    return "not ready"


def check_data_plane(pods_by_ns, cp_version):
    out = []
    for ns, pods in sorted(pods_by_ns.items()):
        problems = []
        for pod in pods:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            name = pod["metadata"]["name"]
            state = _proxy_status(pod)
            if state != "ready":
                problems.append("%s: %s %s" % (name, PROXY, state))
                continue
            version = ((pod["metadata"].get("annotations")) or {}).get(PROXY_VERSION_ANNOTATION)
            if cp_version and version != cp_version:
                problems.append("%s: proxy %s, control plane %s" % (name, version, cp_version))
        label = "data plane " + ns
        if not pods:
            out.append(result(label, WARNING, "no pods in namespace %s" % ns))
        elif problems:
            out.append(result(label, ERROR, "; ".join(problems) + "; restart the workloads after fixing injection"))
        else:
            out.append(result(label, OK, pods=len(pods)))
    return out


def check_viz(viz_deployments, wanted, mutating, cp_version, now=None):
    """The linkerd-viz extension: its Deployments available, the tap injector's webhook with a valid
    caBundle, and its version the control plane's (a warning: viz is upgraded separately)."""
    out = check_deployments(viz_deployments, wanted, "viz deployment ",
                            "Deployment missing from the linkerd-viz namespace; install linkerd-viz (linkerd_viz_enabled)")
    out += check_webhooks(mutating, {}, now, VIZ_MUTATING_WEBHOOKS, ())
    versions = {name: _version_label(viz_deployments[name]) for name in wanted if name in viz_deployments}
    stale = sorted("%s %s" % (name, version) for name, version in versions.items() if version != cp_version)
    if cp_version and stale:
        out.append(result("viz version", WARNING, "control plane %s, linkerd-viz %s; install linkerd-viz of the control plane's release"
                          % (cp_version, ", ".join(stale))))
    else:
        out.append(result("viz version", OK))
    return out


def cli_command(binary, namespace, kubeconfig=None, context=None):
    """The ``linkerd check -o json`` command line for the same cluster as the API checks."""
    cmd = [binary, "check", "-o", "json", "--linkerd-namespace", namespace]
    if kubeconfig:
        cmd += ["--kubeconfig", os.path.expanduser(kubeconfig)]
    if context:
        cmd += ["--context", context]
    return cmd


def parse_cli_json(text):
    """Results of ``linkerd check -o json``, prefixed "cli:"."""
    data = json.loads(text)
    out = []
    for category in data.get("categories") or []:
        for check in category.get("checks") or []:
            status = {"success": OK, "warning": WARNING}.get(check.get("result"), ERROR)
            hint = check.get("error") or ""
            if check.get("hint"):
                hint = (hint + " " if hint else "") + check["hint"]
            out.append(result("cli: %s: %s" % (category.get("categoryName"), check.get("description")), status, hint.strip()))
    return out


def evaluate(snapshot, crds=DEFAULT_CRDS, deployments=DEFAULT_DEPLOYMENTS, warn_days=60, now=None,
             viz_deployments=DEFAULT_VIZ_DEPLOYMENTS):
    """All checks of a snapshot (the viz ones when it holds viz_deployments); returns (results, facts)."""
    results = check_crds(snapshot["crds"], crds)
    results += check_deployments(snapshot["deployments"], deployments)
    results += check_webhooks(snapshot["mutating"], snapshot["validating"], now)
    identity, facts = check_identity(snapshot["trust_roots"], snapshot["issuer_crt"], warn_days, now)
    results += identity
    facts["control_plane_version"] = control_plane_version(snapshot["deployments"])
    results += check_data_plane(snapshot.get("pods") or {}, facts["control_plane_version"])
    if snapshot.get("viz_deployments") is not None:
        results += check_viz(snapshot["viz_deployments"], viz_deployments, snapshot["mutating"], facts["control_plane_version"], now)
    return results, facts


def summarize(results):
    """One failure message naming every failed check with its hint, or None when none failed."""
    failed = [r for r in results if r["status"] == ERROR]
    if not failed:
        return None
    return "Linkerd check failed (%d of %d checks): %s" % (
        len(failed), len(results), "; ".join("%s: %s" % (r["name"], r["hint"]) for r in failed)
    )
