"""OpenAI wire details the gateway needs: the error envelope and the model listing."""

from __future__ import annotations

from typing import Any

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import RouteEntry

_TYPES = {
    ErrorCode.UNAUTHENTICATED: "authentication_error",
    ErrorCode.FORBIDDEN: "permission_error",
    ErrorCode.MODEL_NOT_FOUND: "not_found_error",
    ErrorCode.QUEUE_FULL: "rate_limit_error",
    ErrorCode.OVERLOADED: "rate_limit_error",
    ErrorCode.RATE_LIMITED: "rate_limit_error",
}


def error_body(err: ModelyardError) -> dict[str, Any]:
    """Return OpenAI's ``{"error": {"message", "type", "code", "param"}}`` envelope."""
    kind = _TYPES.get(err.code, "invalid_request_error" if err.status < 500 else "api_error")
    return {"error": {"message": err.message, "type": kind, "code": str(err.code), "param": None}}


def model_list(routes: list[RouteEntry]) -> dict[str, Any]:
    """Return the ``GET /v1/models`` body for the caller's deployments."""
    return {
        "object": "list",
        "data": [
            {"id": r.deployment, "object": "model", "created": 0, "owned_by": r.team}
            for r in routes
        ],
    }
