"""The OpenAI error envelope: ``{"error": {"message", "type", "code", "param"}}``.

One renderer for the OpenAI wire protocol, reading only the ``ErrorCode`` table. The
``type`` follows OpenAI's families by HTTP status so that the official clients raise
the matching exception class (``BadRequestError``, ``RateLimitError``, …).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from modelyard.domain.errors import ModelyardError
from modelyard.runtimes.http import json_response, retry_headers

_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type(status: int) -> str:
    """OpenAI's error ``type`` for an HTTP status."""
    if status >= 500:
        return "server_error"
    return _TYPES_BY_STATUS.get(status, "invalid_request_error")


def error_body(err: ModelyardError) -> dict[str, Any]:
    """The envelope as a dict (also sent as a last SSE event when a stream fails)."""
    param = err.details.get("param")
    return {
        "error": {
            "message": err.message,
            "type": error_type(err.status),
            "code": str(err.code),
            "param": None if param is None else str(param),
        }
    }


def render_error(err: ModelyardError) -> Response:
    """The HTTP response for ``err`` in the OpenAI envelope, with Retry-After when known."""
    return json_response(error_body(err), err.status, retry_headers(err))
