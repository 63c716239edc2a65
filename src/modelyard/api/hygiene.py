"""ASGI middleware that refuses NUL characters in paths, query strings and JSON bodies.

No name, label or free text may carry a NUL: PostgreSQL cannot store one and no tool
downstream (logs, SIEM, shells) handles one well. Refusing it at the edge with 400
``invalid_request`` keeps every handler and repository free of the check. Binary
uploads are not JSON and pass untouched.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from modelyard.api.limits import ASGIApp, Message, Receive, Scope, Send, send_error
from modelyard.domain.errors import ErrorCode, ModelyardError

_NUL_ESCAPE = b"\\u0000"


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower().endswith(b"json"))
    return False


def has_nul(path: str, query: bytes) -> bool:
    """True when the decoded path or query string holds a NUL."""
    return "\x00" in path or b"\x00" in unquote_to_bytes(query)


class RejectNul:
    """Answer 400 ``invalid_request`` to any request that carries a NUL character."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request line, then (JSON only) the body, before passing it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        err = ModelyardError(ErrorCode.INVALID_REQUEST, "NUL characters are not allowed")
        if has_nul(scope.get("path", ""), scope.get("query_string", b"")):
            await send_error(send, err)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if _NUL_ESCAPE in body.lower():
            await send_error(send, err)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
