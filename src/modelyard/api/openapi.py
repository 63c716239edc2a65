"""The control plane's OpenAPI document, made to tell the truth about errors and auth.

FastAPI documents a 422 ``HTTPValidationError`` that this API never sends; every error
here is the ``Error`` envelope with a stable code. This rewrites each operation's error
responses to that envelope and declares bearer-key security, so clients and the
schemathesis run in the test suite check real behaviour against the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"type": "object"}},
    }},
}
_ERRORS = {
    "400": "Invalid request or JSON.", "401": "No valid API key (`unauthenticated`).",
    "403": "The key may not do this (`forbidden`).", "404": "Unknown object or route.",
    "405": "Method not allowed.", "409": "The state does not allow it.",
    "413": "The body is over the limit.", "422": "A name or input is not valid.",
}
_OPEN = {"/healthz", "/readyz", "/metrics"}


def error_responses() -> dict[str, Any]:
    """The error responses every operation may give, as OpenAPI response objects."""
    ref = {"$ref": "#/components/schemas/Error"}
    return {status: {"description": text, "content": {"application/json": {"schema": ref}}}
            for status, text in _ERRORS.items()}


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the corrected document (built once, cached)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = doc.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = ERROR_SCHEMA
        components["securitySchemes"] = {"bearerKey": {"type": "http", "scheme": "bearer"}}
        for path, item in doc.get("paths", {}).items():
            for operation in item.values():
                operation["responses"].pop("422", None)
                operation["responses"].update(error_responses())
                if path not in _OPEN:
                    operation["security"] = [{"bearerKey": []}]
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
