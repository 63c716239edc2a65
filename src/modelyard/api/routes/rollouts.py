"""Rollout routes: show, pause, resume, promote and abort rollouts; take gateway stats."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, require
from modelyard.api.deps import CP, Caller, ControlPlane
from modelyard.api.routes.deployments import _visible
from modelyard.api.schemas.rollouts import GatewayStatsReport, RolloutAction, RolloutPublic
from modelyard.controllers.rollouts import apply_event, live_figures
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.revision_stats import snapshot_from_json
from modelyard.domain.rollouts import Rollout, RolloutEvent
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["rollouts"])

_ACTIONS = {"pause": RolloutEvent.PAUSE, "resume": RolloutEvent.RESUME,
            "promote": RolloutEvent.PROMOTE, "abort": RolloutEvent.ABORT}


async def _rollout_public(cp: ControlPlane, uow: UnitOfWork, r: Rollout) -> RolloutPublic:
    live = live_figures(cp.stats, r) if cp.stats is not None and r.is_active else None
    return RolloutPublic.from_domain(r, await uow.rollouts.history(r.deployment, r.id),
                                     hold=cp.rollout_holds.get(r.id), live=live)


@router.get("/deployments/{name}/rollouts", response_model=list[RolloutPublic])
async def list_rollouts(name: str, cp: CP, who: Caller) -> list[RolloutPublic]:
    """Every rollout of a deployment, newest first, each with its history."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
        return [await _rollout_public(cp, uow, r)
                for r in reversed(await uow.rollouts.all(name))]


@router.get("/deployments/{name}/rollout", response_model=RolloutPublic)
async def show_rollout(name: str, cp: CP, who: Caller) -> RolloutPublic:
    """The latest rollout with its history and, while active, its live figures."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
        r = await uow.rollouts.latest(name)
        if r is None:
            raise ModelyardError(ErrorCode.ROLLOUT_NOT_FOUND, f"{name!r} has no rollout")
        return await _rollout_public(cp, uow, r)


@router.post("/deployments/{name}/rollout/{action}", response_model=RolloutPublic)
async def act_on_rollout(name: str, action: Literal["pause", "resume", "promote", "abort"],
                         body: RolloutAction, cp: CP, who: Caller, audit: Audit) -> RolloutPublic:
    """Pause, resume, promote or abort the active rollout."""
    async with cp.store.uow() as uow:
        dep = await _visible(uow, name, who)
        require(who, Action.DEPLOY, dep.team, dep.environment)
        active = await uow.rollouts.active(name)
        if not active:
            raise ModelyardError(ErrorCode.ROLLOUT_NOT_FOUND, f"{name!r} has no active rollout")
        r = active[-1]
        figures = live_figures(cp.stats, r) if cp.stats is not None else None
        message = body.reason or f"{action} by {who.name}"
        before = str(r.state)
        r = await apply_event(uow, dep, r, _ACTIONS[action], now=cp.clock.now(), actor=who.name,
                              message=message, figures=figures)
        result = await _rollout_public(cp, uow, r)
        await audit.record(uow, f"rollout/{r.id}", dep.team, before={"state": before},
                           after={"state": str(r.state)}, details={"action": action})
    cp.changed()
    return result


@router.get("/deployments/{name}/stats")
async def revision_stats(name: str, cp: CP, who: Caller) -> list[dict[str, Any]]:
    """Cumulative per-revision counters over every gateway."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
    if cp.stats is None:
        return []
    out = []
    for rev, s in sorted(cp.stats.revisions(name).items()):
        out.append({"revision": rev, "requests": s.requests, "errors": s.errors,
                    "error_rate": s.error_rate, "p95_s": s.quantile_s(0.95),
                    "shadow_compared": s.shadow_compared,
                    "disagreement_rate": s.disagreement_rate})
    return out


@router.post("/gateway-stats", status_code=204)
async def report_gateway_stats(body: GatewayStatsReport, cp: CP, who: Caller) -> None:
    """Take a gateway's cumulative per-revision counters (gateways running alone)."""
    require(who, Action.ADMIN)
    try:
        snapshot = snapshot_from_json(body.stats)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, f"bad stats row: {exc}") from None
    if cp.stats is not None:
        cp.stats.report(body.gateway_id, snapshot)
