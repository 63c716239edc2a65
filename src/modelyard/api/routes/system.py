"""System routes: the route-table watch (for gateways) and ``whoami``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Query, Request

from modelyard.api.authz import Action, require
from modelyard.api.deps import CP, Caller

router = APIRouter(tags=["system"])


async def _until_disconnected(request: Request, every_s: float = 0.25) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(every_s)


@router.get("/routes")
async def watch_routes(request: Request, cp: CP, who: Caller, after: int = Query(0, ge=0),
                       timeout_s: float = Query(30.0, ge=0, le=300)) -> dict[str, Any]:
    """Return the route table once its version is above ``after`` (long poll).

    The poll ends early when the gateway hangs up, so a stopping server does not wait
    out its graceful-shutdown period for watchers that are already gone.
    """
    require(who, Action.ADMIN)
    wait = min(timeout_s, cp.route_watch_timeout_s)
    async with asyncio.TaskGroup() as tasks:
        newer = tasks.create_task(cp.feed.wait_newer(after, wait))
        gone = tasks.create_task(_until_disconnected(request))
        await asyncio.wait({newer, gone}, return_when=asyncio.FIRST_COMPLETED)
        for task in (newer, gone):
            task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        return newer.result().to_json()
    return cp.feed.current().to_json()


@router.get("/whoami")
async def whoami(who: Caller) -> dict[str, str]:
    """The caller's key name, team and role."""
    return {"key_id": who.key_id, "name": who.name, "team": who.team, "role": str(who.role)}
