"""Usage and cost routes: gateways post usage batches; callers read aggregates and costs.

``POST /usage`` is telemetry from separate gateways (admin keys, not an audited change).
Aggregates are grouped by team, deployment, key or model over ``since`` (``7d``, ``24h``
or an ISO time); a caller who is not an admin sees only their own team. ``format=csv``
answers ``text/csv``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from modelyard.api.authz import Action, require
from modelyard.api.deps import CP, Caller
from modelyard.controllers.metering import StoreUsageSink
from modelyard.domain.costs import CostLine, Prices, ResourceSeconds, cost_line
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import Principal, Role
from modelyard.domain.usage import GroupBy, UsageRecord, UsageTotals, parse_since
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["usage"])
MAX_BATCH = 10_000
#: the aggregates answer JSON, or CSV with ``format=csv``
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}},
                      "text/csv": {"schema": {"type": "string"}}}}}


class UsageBatch(BaseModel):
    """A batch of usage records from a gateway."""

    records: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)


def _team_filter(who: Principal) -> str | None:
    return None if who.role == Role.ADMIN else who.team


def _csv(header: list[str], rows: list[list[Any]]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buf.getvalue(), media_type="text/csv")


def usage_json(u: UsageTotals) -> dict[str, Any]:
    """One aggregate as JSON."""
    return {"key": u.key, "requests": u.requests, "errors": u.errors,
            "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "mean_latency_s": round(u.mean_latency_s, 6)}


def cost_json(c: CostLine) -> dict[str, Any]:
    """One cost line as JSON."""
    per_1k = c.cost_per_1k_tokens
    return {"key": c.key, "cpu_seconds": round(c.cpu_seconds, 3),
            "gpu_seconds": round(c.gpu_seconds, 3), "cost": round(c.cost, 6),
            "tokens": c.tokens, "cost_per_1k_tokens": None if per_1k is None else round(per_1k, 6)}


@router.post("/usage", status_code=202)
async def report_usage(body: UsageBatch, cp: CP, who: Caller) -> dict[str, int]:
    """Store a batch of usage records from a gateway running alone."""
    require(who, Action.ADMIN)
    try:
        records = [UsageRecord.from_json(r) for r in body.records]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, f"bad usage record: {exc}") from None
    sink = cp.usage_sink or StoreUsageSink(cp.store)
    await sink.write(records)
    return {"accepted": len(records)}


def _by(by: str) -> GroupBy:
    try:
        return GroupBy(by)
    except ValueError:
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             f"by must be one of {', '.join(g.value for g in GroupBy)}") from None


@router.get("/usage", response_model=None, responses=REPORT_RESPONSES)
async def usage_report(cp: CP, who: Caller, by: str = Query("team"), since: str = Query("7d"),
                       format: str = Query("json", pattern="^(json|csv)$")) -> Any:
    """Requests, errors and tokens per group since ``since``."""
    require(who, Action.READ)
    group, start = _by(by), parse_since(since, cp.clock.now())
    async with cp.store.uow() as uow:
        totals = await uow.usage.totals(group, start, team=_team_filter(who))
    rows = [usage_json(u) for u in totals]
    if format == "csv":
        header = ["key", "requests", "errors", "prompt_tokens", "completion_tokens",
                  "mean_latency_s"]
        return _csv([by if h == "key" else h for h in header],
                    [[r[h] for h in header] for r in rows])
    return {"by": by, "since": start.isoformat(), "rows": rows}


async def cost_lines(uow: UnitOfWork, prices: Prices, by: GroupBy, since: Any,
                     team: str | None) -> list[CostLine]:
    """Cost per group from replica time, with the group's tokens."""
    seconds: dict[str, tuple[float, dict[str, float]]] = {}
    for key, gpu_model, cpu_s, gpu_s in await uow.usage.resource_totals(by, since, team=team):
        cpu, gpu = seconds.get(key, (0.0, {}))
        if gpu_s:
            gpu[gpu_model] = gpu.get(gpu_model, 0.0) + gpu_s
        seconds[key] = (cpu + cpu_s, gpu)
    tokens = {u.key: u.prompt_tokens + u.completion_tokens
              for u in await uow.usage.totals(by, since, team=team)}
    return [cost_line(k, ResourceSeconds(cpu, gpu), tokens.get(k, 0), prices)
            for k, (cpu, gpu) in sorted(seconds.items())]


@router.get("/costs", response_model=None, responses=REPORT_RESPONSES)
async def cost_report(cp: CP, who: Caller, by: str = Query("team"), since: str = Query("7d"),
                      format: str = Query("json", pattern="^(json|csv)$")) -> Any:
    """Cost per team, deployment or model version from replica time, and per 1k tokens."""
    require(who, Action.READ)
    group, start = _by(by), parse_since(since, cp.clock.now())
    if group == GroupBy.KEY:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, "costs are by team, deployment, model or project")
    async with cp.store.uow() as uow:
        lines = await cost_lines(uow, cp.prices, group, start, _team_filter(who))
    rows = [cost_json(c) for c in lines]
    if format == "csv":
        header = ["key", "cpu_seconds", "gpu_seconds", "cost", "tokens", "cost_per_1k_tokens"]
        return _csv([by if h == "key" else h for h in header],
                    [[r[h] for h in header] for r in rows])
    return {"by": by, "since": start.isoformat(), "rows": rows}
