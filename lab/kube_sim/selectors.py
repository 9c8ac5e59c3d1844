"""Label selectors (query strings and LabelSelector objects) and field selectors."""

from __future__ import annotations

import re

from .errors import ApiError

_SET_EXPR = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas that are not inside a set's parentheses."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(selector: str | None) -> list[tuple[str, str, list[str]]]:
    """A labelSelector query string as (key, operator, values) requirements."""
    reqs = []
    for part in _split(selector or ""):
        for op in ("!=", "==", "="):
            if op in part and "(" not in part:
                key, value = part.split(op, 1)
                reqs.append((key.strip(), "NotIn" if op == "!=" else "In", [value.strip()]))
                break
        else:
            match = _SET_EXPR.match(part)
            if not match:
                raise ApiError(400, f"unable to parse requirement: {part!r}")
            neg, key, op, values = match.groups()
            if op:
                reqs.append((key, "In" if op == "in" else "NotIn", [v.strip() for v in values.split(",") if v.strip()]))
            else:
                reqs.append((key, "DoesNotExist" if neg else "Exists", []))
    return reqs


def match_requirements(reqs, labels: dict | None) -> bool:
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def match_label_selector(selector: dict | None, labels: dict | None) -> bool:
    """A LabelSelector object (matchLabels + matchExpressions); an empty selector matches everything."""
    if selector is None:
        return False
    reqs = [(k, "In", [v]) for k, v in (selector.get("matchLabels") or {}).items()]
    reqs += [(e["key"], e["operator"], e.get("values") or []) for e in selector.get("matchExpressions") or []]
    return match_requirements(reqs, labels)


def _dig(obj: dict, path: str):
    value = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def parse_field_selector(selector: str | None) -> list[tuple[str, bool, str]]:
    reqs = []
    for part in _split(selector or ""):
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                reqs.append((key.strip(), op != "!=", value.strip()))
                break
        else:
            raise ApiError(400, f"invalid field selector: {part!r}")
    return reqs


def match_fields(reqs, obj: dict) -> bool:
    return all((_dig(obj, key) == value) == equal for key, equal, value in reqs)
