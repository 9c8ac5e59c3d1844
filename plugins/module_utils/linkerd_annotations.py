# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check Linkerd annotations before they reach a cluster.

Linkerd's proxy injector ignores annotations it does not know and silently falls back to defaults
on values it cannot parse, so a typo or an annotation copied from an old article (for example
``config.linkerd.io/enable-h2-upgrade``, which never existed) is a silent no-op. ``problems()``
names each such annotation with what to do instead. The known names and value formats are those
of the Linkerd 2.20 injector (pkg/k8s/labels.go and pkg/inject); retries and timeouts are the
``retry.linkerd.io`` / ``timeout.linkerd.io`` annotations of Linkerd >= 2.16, read from Services
and routes only; circuit breaking is the ``balancer.linkerd.io/failure-accrual*`` annotations the
policy controller reads from Services only (policy-controller/k8s/index/src/outbound/index.rs).
"""

from __future__ import annotations

import difflib
import ipaddress
import re

TARGETS = ("workload", "namespace", "service", "route")

INJECT_VALUES = ("enabled", "disabled", "ingress")
DEFAULT_INBOUND_POLICIES = (
    "all-unauthenticated", "all-authenticated", "cluster-unauthenticated",
    "cluster-authenticated", "deny", "audit",
)
GRPC_RETRY_STATUSES = ("cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable")

_DURATION_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|\u00b5s|ms|s|m|h))+$")
# The policy controller's own duration parser: one whole number and one unit, or a bare 0.
_POLICY_DURATION_RE = re.compile(r"^(0|\d+(ms|s|m|h|d))$")
_QUANTITY_RE = re.compile(r"^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_HTTP_STATUS_RE = re.compile(r"^([1-5]xx|[1-5]\d\d(-[1-5]\d\d)?)$")
_TRUE_FALSE = ("true", "false")
_ENABLED_DISABLED = ("enabled", "disabled")


def _enum(values):
    def check(value):
        if value not in values:
            return "must be one of %s" % ", ".join(values)
        return None
    return check


def _port_number(text):
    return text.isdigit() and 1 <= int(text) <= 65535


def _check_port(value):
    return None if _port_number(value) else "must be a port number 1-65535"


def parse_ports(value):
    """The ports of a Linkerd port list ("80,8000-8010"); ValueError names the bad item."""
    ports = set()
    for item in value.split(","):
        item = item.strip()
        low, sep, high = item.partition("-")
        if not _port_number(low) or (sep and not _port_number(high)) or (sep and int(high) < int(low)):
            raise ValueError("%r is not a port or a port range like 8000-8010" % item)
        ports.update(range(int(low), int(high if sep else low) + 1))
    return ports


def _check_ports(value):
    try:
        parse_ports(value)
    except ValueError as exc:
        return str(exc)
    return None


def _check_cidrs(value):
    for item in value.split(","):
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            return "%r is not an IP network in CIDR notation" % item.strip()
    return None


def _check_duration(value):
    return None if _DURATION_RE.match(value) else "must be a duration such as 500ms, 30s or 1m"


def _check_policy_duration(value):
    return None if _POLICY_DURATION_RE.match(value.strip()) else (
        "must be a whole number with one unit (ms, s, m, h or d), such as 500ms or 60s")


def _check_jitter_ratio(value):
    try:
        ok = 0 <= float(value) <= 100
    except ValueError:
        ok = False
    return None if ok else "must be a number from 0 to 100"


def _check_quantity(value):
    return None if _QUANTITY_RE.match(value) else "must be a Kubernetes quantity such as 100m, 64Mi or 1Gi"


def _check_uint(value):
    return None if value.isdigit() else "must be a non-negative integer"


def _check_ratio(value):
    try:
        ok = float(value) > 0
    except ValueError:
        ok = False
    return None if ok else "must be a positive number (a fraction of the pod's CPU limit)"


def _check_nonempty(value):
    return None if value.strip() else "must not be empty"


def _check_http_statuses(value):
    for item in value.split(","):
        if not _HTTP_STATUS_RE.match(item.strip()):
            return "%r is not an HTTP status, a range like 500-504 or a class like 5xx" % item.strip()
    return None


def _check_grpc_statuses(value):
    for item in value.split(","):
        if item.strip() not in GRPC_RETRY_STATUSES:
            return "%r is not one of %s" % (item.strip(), ", ".join(GRPC_RETRY_STATUSES))
    return None


CONFIG = "config.linkerd.io/"
ALPHA = "config.alpha.linkerd.io/"

# Proxy configuration read by the injector from the pod template, or from the namespace as a default.
PROXY_ANNOTATIONS = {
    "linkerd.io/inject": _enum(INJECT_VALUES),
    CONFIG + "proxy-image": _check_nonempty,
    CONFIG + "image-pull-policy": _enum(("Always", "IfNotPresent", "Never")),
    CONFIG + "control-port": _check_port,
    CONFIG + "skip-inbound-ports": _check_ports,
    CONFIG + "opaque-ports": _check_ports,
    CONFIG + "skip-outbound-ports": _check_ports,
    CONFIG + "skip-subnets": _check_cidrs,
    CONFIG + "inbound-port": _check_port,
    CONFIG + "admin-port": _check_port,
    CONFIG + "outbound-port": _check_port,
    CONFIG + "pod-inbound-ports": _check_ports,
    CONFIG + "proxy-cpu-request": _check_quantity,
    CONFIG + "proxy-memory-request": _check_quantity,
    CONFIG + "proxy-ephemeral-storage-request": _check_quantity,
    CONFIG + "proxy-cpu-limit": _check_quantity,
    CONFIG + "proxy-cpu-ratio-limit": _check_ratio,
    CONFIG + "proxy-memory-limit": _check_quantity,
    CONFIG + "proxy-ephemeral-storage-limit": _check_quantity,
    CONFIG + "proxy-uid": _check_uint,
    CONFIG + "proxy-gid": _check_uint,
    CONFIG + "proxy-admin-shutdown": _enum(_ENABLED_DISABLED),
    CONFIG + "proxy-log-level": _check_nonempty,
    CONFIG + "proxy-log-http-headers": _enum(("off", "insecure")),
    CONFIG + "proxy-log-format": _enum(("plain", "json")),
    CONFIG + "enable-external-profiles": _enum(_TRUE_FALSE),
    CONFIG + "proxy-version": _check_nonempty,
    CONFIG + "proxy-require-identity-inbound-ports": _check_ports,
    CONFIG + "proxy-metrics-hostname-labels": _enum(_TRUE_FALSE),
    CONFIG + "proxy-outbound-connect-timeout": _check_duration,
    CONFIG + "proxy-inbound-connect-timeout": _check_duration,
    CONFIG + "proxy-outbound-discovery-cache-unused-timeout": _check_duration,
    CONFIG + "proxy-inbound-discovery-cache-unused-timeout": _check_duration,
    CONFIG + "proxy-disable-outbound-protocol-detect-timeout": _enum(_TRUE_FALSE),
    CONFIG + "proxy-disable-inbound-protocol-detect-timeout": _enum(_TRUE_FALSE),
    CONFIG + "enable-debug-sidecar": _enum(_TRUE_FALSE),
    CONFIG + "proxy-enable-native-sidecar": _enum(_TRUE_FALSE),
    CONFIG + "proxy-await": _enum(_ENABLED_DISABLED),
    CONFIG + "default-inbound-policy": _enum(DEFAULT_INBOUND_POLICIES),
    CONFIG + "access-log": _enum(("apache", "json")),
    CONFIG + "shutdown-grace-period": _check_duration,
    CONFIG + "proxy-additional-env": _check_nonempty,
    ALPHA + "proxy-wait-before-exit-seconds": _check_uint,
    ALPHA + "proxy-enable-native-sidecar": _enum(_TRUE_FALSE),
}

# Retries and timeouts: read by the policy controller from Services and HTTPRoutes, not from pods.
ROUTE_ANNOTATIONS = {
    "retry.linkerd.io/http": _check_http_statuses,
    "retry.linkerd.io/grpc": _check_grpc_statuses,
    "retry.linkerd.io/limit": _check_uint,
    "retry.linkerd.io/timeout": _check_duration,
    "timeout.linkerd.io/request": _check_duration,
    "timeout.linkerd.io/response": _check_duration,
    "timeout.linkerd.io/idle": _check_duration,
}

BALANCER = "balancer.linkerd.io/"

# Circuit breaking: read by the policy controller from Services only (not from routes or pods).
SERVICE_ANNOTATIONS = {
    BALANCER + "failure-accrual": _enum(("consecutive", "unified")),
    BALANCER + "failure-accrual-consecutive-max-failures": _check_uint,
    BALANCER + "failure-accrual-consecutive-min-penalty": _check_policy_duration,
    BALANCER + "failure-accrual-consecutive-max-penalty": _check_policy_duration,
    BALANCER + "failure-accrual-consecutive-jitter-ratio": _check_jitter_ratio,
}

# Written by the injector onto pods it injected; a value set by hand is overwritten.
INJECTOR_WRITTEN = ("linkerd.io/created-by", "linkerd.io/proxy-version", "linkerd.io/trust-root-sha256")

# Names found in old articles and configurations, with what replaces them.
NEVER_VALID = {
    CONFIG + "enable-h2-upgrade": (
        "is not a Linkerd annotation and never was: HTTP/2 upgrade between proxies is the control "
        "plane's Helm value enableH2Upgrade (on by default)"
    ),
    CONFIG + "identity-mode": (
        "is not a Linkerd annotation: mTLS between meshed pods is always on and cannot be turned "
        "off per workload; use config.linkerd.io/skip-inbound-ports or skip-outbound-ports to take "
        "a port out of the mesh"
    ),
    "linkerd.io/identity-mode": (
        "was removed from Linkerd in 2022 (before stable-2.12): mTLS between meshed pods is always on"
    ),
}

LINKERD_PREFIXES = ("linkerd.io/", CONFIG, ALPHA, "retry.linkerd.io/", "timeout.linkerd.io/", BALANCER)

_TARGET_NAMES = {
    "workload": "a pod template",
    "namespace": "a namespace",
    "service": "a Service",
    "route": "an HTTPRoute",
}


def _problem(annotation, severity, message):
    return {"annotation": annotation, "severity": severity, "message": "%s %s" % (annotation, message)}


def _is_linkerd(name):
    # Extensions (viz.linkerd.io/...) have their own annotations; only the core domains are checked.
    return name.startswith(LINKERD_PREFIXES)


def _known_names():
    return list(PROXY_ANNOTATIONS) + list(ROUTE_ANNOTATIONS) + list(SERVICE_ANNOTATIONS) + list(INJECTOR_WRITTEN)


def _port_overlaps(name, value, ports, what):
    try:
        overlap = sorted(parse_ports(value) & set(ports))
    except ValueError:
        return None
    if overlap:
        return _problem(name, "error", "covers the serving port %s: %s" % (
            ", ".join(str(p) for p in overlap), what))
    return None


def problems(annotations, target="workload", serving_ports=None, labels=None):
    """Every problem of ``annotations`` meant for ``target`` (one of TARGETS), errors first.

    Each problem is a dict with ``annotation``, ``severity`` (``error`` or ``warning``) and a
    ``message`` that starts with the annotation's name. ``serving_ports`` are the container ports
    the mesh must protect (the model server's); ``labels`` are the same object's labels, checked
    for Linkerd settings put there by mistake. Annotations outside Linkerd's domains are ignored.
    """
    if target not in TARGETS:
        raise ValueError("target must be one of %s, not %r" % (", ".join(TARGETS), target))
    found = []
    ports = [int(p) for p in (serving_ports or [])]
    for name in sorted(labels or {}):
        if name in PROXY_ANNOTATIONS:
            found.append(_problem(name, "error", (
                "is set as a label; Linkerd reads it only from annotations, so it has no effect here")))
    for name in sorted(annotations or {}):
        if not _is_linkerd(name):
            continue
        value = "" if annotations[name] is None else str(annotations[name])
        if name in NEVER_VALID:
            found.append(_problem(name, "error", NEVER_VALID[name]))
        elif name in INJECTOR_WRITTEN:
            found.append(_problem(name, "warning", "is written by the proxy injector; a value set here is replaced"))
        elif name in PROXY_ANNOTATIONS:
            if target in ("service", "route"):
                found.append(_problem(name, "error", "configures the proxy and is read from pod templates "
                                      "and namespaces, not from %s" % _TARGET_NAMES[target]))
                continue
            reason = PROXY_ANNOTATIONS[name](value)
            if reason:
                found.append(_problem(name, "error", "%s, not %r" % (reason, value)))
                continue
            found.extend(_proxy_semantics(name, value, ports))
        elif name in ROUTE_ANNOTATIONS:
            if target in ("workload", "namespace"):
                found.append(_problem(name, "error", "is read from Services and HTTPRoutes, not from %s; "
                                      "move it to the Service" % _TARGET_NAMES[target]))
                continue
            reason = ROUTE_ANNOTATIONS[name](value)
            if reason:
                found.append(_problem(name, "error", "%s, not %r" % (reason, value)))
        elif name in SERVICE_ANNOTATIONS:
            if target != "service":
                found.append(_problem(name, "error", "is read from Services only, not from %s; "
                                      "move it to the Service" % _TARGET_NAMES[target]))
                continue
            reason = SERVICE_ANNOTATIONS[name](value)
            if reason:
                found.append(_problem(name, "error", "%s, not %r" % (reason, value)))
        else:
            close = difflib.get_close_matches(name, _known_names(), n=1, cutoff=0.8)
            hint = "; did you mean %s?" % close[0] if close else ""
            found.append(_problem(name, "error", "is not an annotation Linkerd 2.20 reads%s" % hint))
    return sorted(found, key=lambda p: (p["severity"] != "error", p["annotation"]))


def _proxy_semantics(name, value, ports):
    """Valid values that still defeat the mesh for the serving ports."""
    found = []
    if name == CONFIG + "skip-inbound-ports":
        found.append(_port_overlaps(name, value, ports, (
            "requests to the model would bypass the proxy: no mTLS, no authorization policy, no metrics")))
    elif name == CONFIG + "skip-outbound-ports":
        found.append(_port_overlaps(name, value, ports, (
            "calls from this pod to that port would leave the mesh unencrypted and unmeasured")))
    elif name == CONFIG + "opaque-ports":
        overlap = _port_overlaps(name, value, ports, (
            "HTTP on it would be proxied as opaque TCP: no per-request metrics, retries, timeouts or routes"))
        if overlap:
            overlap["severity"] = "warning"
        found.append(overlap)
    elif name == CONFIG + "proxy-await" and value == "disabled":
        found.append(_problem(name, "warning", (
            "disabled lets the application start before its proxy is ready, so its first "
            "connections can fail")))
    elif name == CONFIG + "default-inbound-policy" and value in ("all-unauthenticated", "audit"):
        found.append(_problem(name, "warning", (
            "%s admits requests from any client, meshed or not" % value)))
    return [p for p in found if p]


def errors(annotations, target="workload", serving_ports=None, labels=None):
    """The messages of the error-severity problems only."""
    return [p["message"] for p in problems(annotations, target, serving_ports, labels) if p["severity"] == "error"]
