"""Control-plane ASGI app factory: REST under ``/api/v1``; ModelyardError → envelope."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard import __version__
from modelyard.api.audit_trail import record_refusal
from modelyard.api.deps import ControlPlane
from modelyard.api.hygiene import RejectNul
from modelyard.api.openapi import install_openapi
from modelyard.api.policy import authorize
from modelyard.api.routes import (
    audit,
    budgets,
    deployments,
    drift,
    endpoints,
    keys,
    models,
    nodes,
    quotas,
    revisions,
    rollouts,
    system,
    teams,
    usage,
)
from modelyard.domain.errors import ErrorCode, ModelyardError, error_body, error_headers

logger = logging.getLogger(__name__)
PREFIX = "/api/v1"


def _render(err: ModelyardError) -> JSONResponse:
    return JSONResponse(error_body(err), status_code=err.status, headers=error_headers(err))


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelyardError)
    await record_refusal(request, exc)  # 401 and 403 only
    return _render(exc)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ())) or "request"
    code = ErrorCode.INVALID_JSON if first.get("type") == "json_invalid" else ErrorCode.INVALID_REQUEST
    return _render(ModelyardError(code, f"{where}: {first.get('msg', 'invalid')}"))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: ErrorCode.ROUTE_NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
        exc.status_code, ErrorCode.INVALID_REQUEST)
    return _render(ModelyardError(code))


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", extra={"path": request.url.path})
    return _render(ModelyardError(ErrorCode.INTERNAL))


def build_api_app(cp: ControlPlane) -> FastAPI:
    """Return the REST API app for ``cp``."""
    app = FastAPI(title="modelyard control plane", version=__version__,
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs",
                  redoc_url=None)
    app.state.cp = cp
    # every route passes the policy table (api/policy.py) before its handler runs
    for module in (models, deployments, revisions, rollouts, system, teams, keys, audit, nodes,
                   quotas, usage, budgets, drift, endpoints):
        app.include_router(module.router, prefix=PREFIX, dependencies=[Depends(authorize)])
    install_openapi(app)
    app.add_middleware(RejectNul)
    app.add_exception_handler(ModelyardError, _on_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_crash)
    return app
