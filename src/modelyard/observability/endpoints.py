"""Open operational endpoints: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def ops_routes(is_ready: Callable[[], tuple[bool, str]],
               extra_metrics: Callable[[], str] | None = None) -> list[Route]:
    """Routes for metrics, liveness and readiness (``is_ready`` → (ready, detail)).

    ``extra_metrics`` returns exposition text appended to ``/metrics`` (engine replicas).
    """

    async def metrics(request: Request) -> Response:
        body = generate_latest()
        if extra_metrics is not None:
            body += extra_metrics().encode()
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready, detail = is_ready()
        return JSONResponse({"status": "ready" if ready else "not_ready", "detail": detail},
                            status_code=200 if ready else 503)

    return [Route("/metrics", metrics), Route("/healthz", healthz), Route("/readyz", readyz)]
