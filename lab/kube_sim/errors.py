"""Kubernetes Status errors, raised anywhere and answered by the HTTP layer as the API server would."""

from __future__ import annotations

import json

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """An API failure carried as a v1 Status; ``reason`` defaults from the HTTP code."""

    def __init__(self, code: int, message: str, reason: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body

    def body(self) -> bytes:
        return json.dumps(self.status()).encode()


def qualified(rtype) -> str:
    """``deployments.apps`` style name used in the API server's messages."""
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


def not_found(rtype, name: str) -> ApiError:
    return ApiError(404, f'{qualified(rtype)} "{name}" not found',
                    details={"name": name, "group": rtype.group, "kind": rtype.plural})


def already_exists(rtype, name: str) -> ApiError:
    return ApiError(409, f'{qualified(rtype)} "{name}" already exists', reason="AlreadyExists",
                    details={"name": name, "group": rtype.group, "kind": rtype.plural})


def conflict(rtype, name: str, why: str) -> ApiError:
    return ApiError(409, f'Operation cannot be fulfilled on {qualified(rtype)} "{name}": {why}',
                    details={"name": name, "group": rtype.group, "kind": rtype.plural})


def invalid(rtype, name: str, causes: list[dict]) -> ApiError:
    """422 naming every refused field, e.g. ``spec.replicas: Invalid value: "3": ...``."""
    text = ", ".join(f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes)
    kind_name = f"{rtype.kind}.{rtype.group}" if rtype.group else rtype.kind
    if len(causes) > 1:
        text = f"[{text}]"
    return ApiError(422, f'{kind_name} "{name}" is invalid: {text}',
                    details={"name": name, "group": rtype.group, "kind": rtype.kind, "causes": causes})
