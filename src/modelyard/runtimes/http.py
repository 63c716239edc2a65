"""HTTP plumbing shared by the replica's protocol modules.

JSON in and out (bounded bodies, orjson), the REST error envelope used by the OIP v2 and
KServe v1 routes, and ``until_disconnect``: runs a request's work but cancels it when the
client goes away, so a batcher drops requests nobody waits for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from modelyard.domain.errors import ErrorCode, ModelyardError

T = TypeVar("T")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
STATUS_CLIENT_GONE = 499  # nginx's convention; nobody reads it, but logs do


class ClientGone(Exception):
    """The client closed the connection before the answer was ready."""


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serialize ``body`` with orjson (numpy-aware)."""
    data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(data, status_code=status, headers=headers, media_type="application/json")


def retry_headers(err: ModelyardError) -> dict[str, str]:
    """``Retry-After`` (whole seconds, at least 1) when the error carries a retry hint."""
    if err.retry_after_s is None:
        return {}
    return {"Retry-After": str(max(1, round(err.retry_after_s)))}


def error_response(err: ModelyardError) -> Response:
    """Render the REST error envelope for ``err``."""
    body = {"error": {"code": str(err.code), "message": err.message}}
    return json_response(body, err.status, retry_headers(err))


async def read_json(request: Request, limit: int) -> object:
    """Read the body (bounded by ``limit`` bytes) and parse it as JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise ModelyardError(ErrorCode.INVALID_JSON, f"body is not valid JSON: {exc}") from None


async def _wait_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``; cancel it and raise ``ClientGone`` if the client disconnects first.

    Call only after the body has been read: the watcher consumes ``receive()``. A future
    (``Batcher.enqueue``) is awaited as it is; cancelling it drops the request. The watcher
    cancels the work through a callback, so the hot path builds no ``asyncio.wait``.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_wait_disconnect(request))
    watcher.add_done_callback(lambda w: None if w.cancelled() else task.cancel())
    try:
        return await task
    except asyncio.CancelledError:
        if watcher.done() and not watcher.cancelled():
            raise ClientGone() from None
        raise  # this request itself was cancelled
    finally:
        if not watcher.done():
            watcher.cancel()
        if not task.done():
            task.cancel()
