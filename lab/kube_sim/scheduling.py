"""What the scheduler decides: resource quantities, taints and tolerations, node selectors and
required node affinity, and whether a pod fits a node given what is already running there."""

from __future__ import annotations

import re
from decimal import Decimal

SUFFIXES = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}


def quantity(value) -> Decimal:
    """A Kubernetes quantity ("500m", "16Gi", 2) as a number."""
    match = re.match(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$", str(value).strip())
    if not match or match.group(2) not in SUFFIXES:
        raise ValueError(f"not a quantity: {value!r}")
    return Decimal(match.group(1)) * Decimal(SUFFIXES[match.group(2)])


def pod_requests(spec: dict) -> dict[str, Decimal]:
    """Effective requests: containers summed, init containers as a maximum; limits stand in for missing requests."""
    def of(container):
        res = container.get("resources") or {}
        merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        return {k: quantity(v) for k, v in merged.items()}

    total: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        for key, value in of(container).items():
            total[key] = total.get(key, Decimal(0)) + value
    for container in spec.get("initContainers") or []:
        for key, value in of(container).items():
            total[key] = max(total.get(key, Decimal(0)), value)
    return total


def tolerates(tolerations: list, taint: dict) -> bool:
    for tol in tolerations or []:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol["key"] == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated_taint(tolerations: list, node: dict) -> dict | None:
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return taint
    return None


def _expression(expr: dict, value: str | None) -> bool:
    op, values = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def matches_node_selector(spec: dict, node: dict) -> bool:
    """nodeSelector plus requiredDuringSchedulingIgnoredDuringExecution node affinity."""
    labels = node["metadata"].get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not required:
        return True
    for term in required.get("nodeSelectorTerms") or []:
        exprs = term.get("matchExpressions") or []
        fields = term.get("matchFields") or []
        if not exprs and not fields:
            continue
        if all(_expression(e, labels.get(e["key"])) for e in exprs) and all(
                _expression(f, node["metadata"]["name"] if f["key"] == "metadata.name" else None) for f in fields):
            return True
    return False


def allocatable(node: dict) -> dict[str, Decimal]:
    return {k: quantity(v) for k, v in ((node.get("status") or {}).get("allocatable") or {}).items()}


def fit(pod_spec: dict, node: dict, used: dict[str, Decimal], pod_count: int, daemon: bool = False) -> str | None:
    """None when the pod fits the node, else the scheduler's reason (as in a FailedScheduling event)."""
    tolerations = list(pod_spec.get("tolerations") or [])
    if (node.get("spec") or {}).get("unschedulable") and not daemon and not tolerates(
            tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
        return "node(s) were unschedulable"
    if not matches_node_selector(pod_spec, node):
        return "node(s) didn't match Pod's node affinity/selector"
    taint = untolerated_taint(tolerations, node)
    if taint is not None:
        value = taint.get("value") or ""
        return f"node(s) had untolerated taint {{{taint['key']}: {value}}}"
    free = allocatable(node)
    if pod_count + 1 > free.get("pods", Decimal(110)):
        return "Too many pods"
    for resource, amount in sorted(pod_requests(pod_spec).items()):
        if amount > 0 and amount > free.get(resource, Decimal(0)) - used.get(resource, Decimal(0)):
            return f"Insufficient {resource}"
    return None
