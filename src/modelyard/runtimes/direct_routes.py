"""Direct dispatch of a replica's routes: one ASGI layer between the server and a handler.

A Starlette app runs every request through five layers (server errors, exception
handlers, router, route, request/response adapter): five more coroutines to create and to
resume at every await, on a path an embedding replica takes hundreds of times a second
while its model threads wait for the event loop to hand back answers and take in requests.
``DirectRoutes`` matches a request against the same ``Route`` list and calls the handler
itself. A full match (path and method) is served here; an exception the handler did not
turn into a response becomes the 500 ``internal`` envelope and one log line with its
traceback. Everything else (lifespan, an unknown path, a wrong method) goes on to the
Starlette app, which answers it as before (404 ``route_not_found``, 405
``method_not_allowed``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.http import error_response

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Endpoint = Callable[[Request], Awaitable[Response]]


class DirectRoutes:
    """ASGI app: serves ``routes`` directly and hands everything else to ``app``."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self._routes = [r for r in routes if isinstance(r, Route)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (or pass it, and lifespan events, to the app)."""
        if scope["type"] == "http":
            for route in self._routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    response = await _respond(route.endpoint, Request(scope, receive))
                    await response(scope, receive, send)
                    return
                if match is Match.PARTIAL:  # the path, not the method: the app answers 405
                    break
        await self.app(scope, receive, send)


async def _respond(endpoint: Endpoint, request: Request) -> Response:
    try:
        return await endpoint(request)
    except Exception:  # a bug in a handler: an envelope, not a dropped connection
        logger.exception("unhandled error", extra={"path": request.url.path})
        return error_response(ModelyardError(ErrorCode.INTERNAL, "internal error"))
