"""System routes: the route-table watch (for gateways) and ``whoami``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from modelyard.api.authz import Action, require
from modelyard.api.deps import CP, Caller

router = APIRouter(tags=["system"])


@router.get("/routes")
async def watch_routes(cp: CP, who: Caller, after: int = Query(0, ge=0),
                       timeout_s: float = Query(30.0, ge=0, le=300)) -> dict[str, Any]:
    """Return the route table once its version is above ``after`` (long poll)."""
    require(who, Action.ADMIN)
    table = await cp.feed.wait_newer(after, min(timeout_s, cp.route_watch_timeout_s))
    return table.to_json()


@router.get("/whoami")
async def whoami(who: Caller) -> dict[str, str]:
    """The caller's key name, team and role."""
    return {"key_id": who.key_id, "name": who.name, "team": who.team, "role": str(who.role)}
