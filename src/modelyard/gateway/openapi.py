"""The gateway's OpenAPI document: its inference routes, their bodies and error envelopes.

Served at ``GET /openapi.json`` by every gateway; the test suite fuzzes the gateway
against it. Bodies are described loosely (the replica checks the input against the
model); every error is an envelope with ``error.code`` and ``error.message`` (the OpenAI
routes add ``type`` and ``param``).
"""

from __future__ import annotations

from typing import Any

from modelyard import __version__

_ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"],
                             "properties": {"code": {"type": "string"},
                                            "message": {"type": "string"}}}},
}
_STATUS_TEXT = {
    "400": "Invalid request or JSON.", "401": "No valid API key.",
    "403": "The key may not call this deployment.", "404": "Unknown model or route.",
    "405": "Method not allowed.", "413": "Body over the limit.",
    "422": "The input does not fit the model.", "429": "Back-pressure; retry later.",
    "502": "The replica failed.", "503": "No replica is ready (Retry-After).",
    "504": "The replica timed out.",
}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_OIP_REQUEST = {
    "type": "object", "required": ["inputs"],
    "properties": {
        "inputs": {"type": "array", "items": {
            "type": "object", "required": ["name", "shape", "datatype", "data"],
            "properties": {"name": {"type": "string"},
                           "shape": {"type": "array", "items": {"type": "integer"}},
                           "datatype": {"type": "string"}, "data": {"type": "array"}}}},
        "outputs": {"type": "array", "items": {"type": "object"}},
    },
}
_PREDICT_REQUEST = {"type": "object", "required": ["instances"],
                    "properties": {"instances": {"type": "array"}}}
_OPENAI_REQUEST = {"type": "object", "required": ["model"],
                   "properties": {"model": {"type": "string"}}}


def _operation(summary: str, body: dict[str, Any] | None = None,
               params: list[dict[str, Any]] | None = None, secure: bool = True) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Error"}
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": {}}}}}
    responses |= {s: {"description": t, "content": {"application/json": {"schema": ref}}}
                  for s, t in _STATUS_TEXT.items()}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
    if secure:
        op["security"] = [{"bearerKey": []}]
    return op


def gateway_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the gateway's routes."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "modelyard gateway", "version": __version__},
        "paths": {
            "/v2/health/live": {"get": _operation("Liveness", secure=False)},
            "/v2/health/ready": {"get": _operation("Readiness", secure=False)},
            "/v2/models/{name}": {"get": _operation("OIP model metadata", params=[_NAME])},
            "/v2/models/{name}/ready": {"get": _operation("OIP model readiness", params=[_NAME])},
            "/v2/models/{name}/infer": {"post": _operation("OIP inference", _OIP_REQUEST, [_NAME])},
            "/v1/models/{name}:predict": {
                "post": _operation("KServe v1 prediction", _PREDICT_REQUEST, [_NAME])},
            "/v1/models": {"get": _operation("OpenAI model list")},
            "/v1/embeddings": {"post": _operation("OpenAI embeddings", _OPENAI_REQUEST)},
            "/v1/completions": {"post": _operation("OpenAI completions", _OPENAI_REQUEST)},
            "/v1/chat/completions": {"post": _operation("OpenAI chat", _OPENAI_REQUEST)},
        },
        "components": {"schemas": {"Error": _ERROR},
                       "securitySchemes": {"bearerKey": {"type": "http", "scheme": "bearer"}}},
    }
