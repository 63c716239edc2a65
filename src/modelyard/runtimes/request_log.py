"""Request ids in a replica's JSON logs.

``RequestLog`` (ASGI middleware) takes the incoming ``X-Request-Id`` (set by the gateway
or the client; well-formed ids only), keeps it in a context variable for the request, and
writes one ``request`` line per request: at DEBUG for successes (off by default, the hot
path stays quiet), INFO for 4xx and WARNING for 5xx. ``RequestIdFilter`` stamps the id on
every record logged while the request runs, so a failure in the runtime names its request.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

logger = logging.getLogger("modelyard.replica.requests")
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the record and keep it."""
        rid = REQUEST_ID.get()
        if rid and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


def _request_id(scope: MutableMapping[str, Any]) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id" and _WELL_FORMED.fullmatch(value):
            return str(value.decode())
    return ""


def _level(status: int) -> int:
    if status >= 500 or status == 0:
        return logging.WARNING
    return logging.INFO if status >= 400 else logging.DEBUG


class RequestLog:
    """ASGI middleware: request id in context, one log line per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        """Serve one connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = REQUEST_ID.set(_request_id(scope))
        status = 0
        start = time.perf_counter()

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            level = _level(status)
            if logger.isEnabledFor(level):
                logger.log(level, "request", extra={
                    "method": scope.get("method", ""), "path": scope.get("path", ""),
                    "status": status, "duration_ms": round((time.perf_counter() - start) * 1000, 3)})
            REQUEST_ID.reset(token)
