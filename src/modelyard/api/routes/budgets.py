"""Budget routes: admins set a team's soft and hard limits; the hard limit gates deploys.

``check_budget`` is the gate ``POST /deployments`` calls: a team whose spending this
period reached its hard limit may not create deployments (``budget_exceeded``, 402).
Inference of existing deployments continues.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller, ControlPlane
from modelyard.controllers.metering import team_spend
from modelyard.domain.costs import Budget, BudgetState, Period, judge, period_start
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import check_name
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["budgets"])


class BudgetSet(BaseModel):
    """A team's limits per period."""

    soft: float = Field(ge=0)
    hard: float = Field(gt=0)
    period: Period = Period.MONTH


async def _status(uow: UnitOfWork, cp: ControlPlane, budget: Budget) -> dict[str, Any]:
    spent = await team_spend(uow, budget.team, period_start(cp.clock.now(), budget.period),
                             cp.prices)
    verdict = judge(budget, spent)
    return {"team": budget.team, "soft": budget.soft, "hard": budget.hard,
            "period": str(budget.period), "spent": round(spent, 6),
            "used_ratio": round(verdict.used_ratio, 6), "state": str(verdict.state)}


async def check_budget(uow: UnitOfWork, cp: ControlPlane, team: str) -> None:
    """Refuse with ``budget_exceeded`` when ``team`` spent its hard limit this period."""
    budget = await uow.usage.budget(team)
    if budget is None:
        return
    status = await _status(uow, cp, budget)
    if status["state"] == str(BudgetState.HARD_EXCEEDED):
        raise ModelyardError(ErrorCode.BUDGET_EXCEEDED,
                             f"team {team!r} spent {status['spent']:.2f} of its hard limit "
                             f"{budget.hard:.2f} this {budget.period}",
                             details={"team": team, "spent": status["spent"], "hard": budget.hard})


@router.put("/budgets/{team}")
async def set_budget(team: str, body: BudgetSet, cp: CP, who: Caller,
                     audit: Audit) -> dict[str, Any]:
    """Set (or replace) a team's budget (admin)."""
    check_name(team, "team name")
    budget = Budget(team, body.soft, body.hard, body.period)
    async with cp.store.uow() as uow:
        if await uow.teams.get(team) is None:
            raise ModelyardError(ErrorCode.TEAM_NOT_FOUND, f"no team {team!r}")
        before = await uow.usage.budget(team)
        await uow.usage.set_budget(budget, cp.clock.now(), who.name)
        result = await _status(uow, cp, budget)
        await audit.record(uow, f"budget/{team}", team,
                           before=None if before is None else {"soft": before.soft,
                                                               "hard": before.hard},
                           after={"soft": budget.soft, "hard": budget.hard,
                                  "period": str(budget.period)})
    return result


@router.get("/budgets")
async def list_budgets(cp: CP, who: Caller) -> list[dict[str, Any]]:
    """Budgets the caller may see, with this period's spending."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        return [await _status(uow, cp, b) for b, _ in await uow.usage.budgets()
                if is_visible(who, b.team)]


@router.delete("/budgets/{team}")
async def delete_budget(team: str, cp: CP, who: Caller, audit: Audit) -> dict[str, str]:
    """Remove a team's budget (admin)."""
    async with cp.store.uow() as uow:
        if not await uow.usage.delete_budget(team):
            raise ModelyardError(ErrorCode.NOT_FOUND, f"team {team!r} has no budget")
        await audit.record(uow, f"budget/{team}", team, before={"team": team})
    return {"team": team, "deleted": "true"}
