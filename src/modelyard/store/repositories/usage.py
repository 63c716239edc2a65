"""SqlUsageRepository: request usage records, replica time per hour bucket, budgets."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.costs import Budget, Period
from modelyard.domain.usage import (
    NO_PROJECT,
    PROJECT_TAG,
    GroupBy,
    ResourceUsage,
    UsageRecord,
    UsageTotals,
)
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc

_U = t.usage_records.c
_INSERT_COLUMNS = ("time", "team", "key_id", "deployment", "revision", "model", "model_version",
                   "status", "latency_s", "prompt_tokens", "completion_tokens", "request_id")
_R = t.resource_usage.c


def _group_columns(by: GroupBy, cols: Any) -> list[Any]:
    if by in (GroupBy.MODEL, GroupBy.PROJECT):
        return [cols.model, cols.model_version]
    if by == GroupBy.KEY:
        return [cols.key_id]
    return [getattr(cols, str(by))]


def _label(row: Any, by: GroupBy) -> str:
    if by in (GroupBy.MODEL, GroupBy.PROJECT):
        return f"{row[0]}@{row[1]}" if row[1] is not None else str(row[0])
    return str(row[0])


def _merge_totals(rows: list[UsageTotals], key_of: dict[str, str]) -> list[UsageTotals]:
    merged: dict[str, UsageTotals] = {}
    for u in rows:
        key = key_of.get(u.key, NO_PROJECT)
        m = merged.get(key)
        merged[key] = u if m is None else UsageTotals(
            key, m.requests + u.requests, m.errors + u.errors, m.prompt_tokens + u.prompt_tokens,
            m.completion_tokens + u.completion_tokens, m.latency_s_sum + u.latency_s_sum)
    return [replace(u, key=k) for k, u in sorted(merged.items())]


class SqlUsageRepository:
    """Usage and budgets in SQL; records and buckets are only ever added or grown."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, records: Sequence[UsageRecord],
                  versions: Mapping[tuple[str, int], int | None] | None = None) -> None:
        """Insert a batch of usage records (``versions`` fills a missing model version).

        Gateways send thousands of records a second, so the batch goes to the driver as
        one ``executemany`` of plain tuples, without per-row statement compilation.
        """
        if not records:
            return
        dialect = self.conn.dialect
        to_time = t.usage_records.c.time.type.dialect_impl(dialect).bind_processor(dialect)
        known = versions or {}
        rows = [(to_time(r.time) if to_time else r.time, r.team, r.key_id, r.deployment,
                 r.revision, r.model, r.model_version if r.model_version is not None
                 else known.get((r.deployment, r.revision)) if r.revision is not None else None,
                 r.status, r.latency_s, r.prompt_tokens, r.completion_tokens, r.request_id)
                for r in records]
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        await self.conn.exec_driver_sql(
            f"INSERT INTO usage_records ({', '.join(_INSERT_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))})", rows)

    async def totals(self, by: GroupBy, since: datetime,
                     team: str | None = None) -> list[UsageTotals]:
        """Requests, errors, tokens and latency per group since ``since``."""
        group = _group_columns(by, _U)
        errors = func.sum(case(((_U.status == 0) | (_U.status >= 500), 1), else_=0))
        q = select(*group, func.count(), errors, func.sum(_U.prompt_tokens),
                   func.sum(_U.completion_tokens), func.sum(_U.latency_s)).where(
            _U.time >= since).group_by(*group)
        if team is not None:
            q = q.where(_U.team == team)
        rows = (await self.conn.execute(q)).all()
        out = [UsageTotals(_label(r, by), int(r[-5]), int(r[-4] or 0), int(r[-3] or 0),
                           int(r[-2] or 0), float(r[-1] or 0.0)) for r in rows]
        if by == GroupBy.PROJECT:
            return _merge_totals(out, await self.projects())
        return sorted(out, key=lambda u: u.key)

    async def projects(self) -> dict[str, str]:
        """``model@version`` → the version's ``project`` tag (versions that have one)."""
        mv = t.model_versions.c
        out = {}
        for model, version, tags in await self.conn.execute(select(mv.model, mv.version, mv.tags)):
            project = json.loads(tags or "{}").get(PROJECT_TAG)
            if project:
                out[f"{model}@{version}"] = str(project)
        return out

    async def requests(self, deployment: str, since: datetime,
                       until: datetime) -> list[tuple[int, int, bool]]:
        """(prompt tokens, completion tokens, failed) of each request in ``[since, until)``."""
        q = select(_U.prompt_tokens, _U.completion_tokens, _U.status).where(
            _U.deployment == deployment, _U.time >= since, _U.time < until)
        return [(int(p), int(c), s == 0 or s >= 500) for p, c, s in await self.conn.execute(q)]

    async def watermark(self, replica_id: str) -> datetime | None:
        """Up to when ``replica_id``'s time is accrued."""
        q = select(func.max(_R.accrued_until)).where(_R.replica_id == replica_id)
        return utc((await self.conn.execute(q)).scalar())

    async def accrue(self, u: ResourceUsage) -> None:
        """Add ``u``'s seconds to its bucket (created when missing)."""
        res = await self.conn.execute(update(t.resource_usage).where(
            _R.replica_id == u.replica_id, _R.bucket == u.bucket).values(
            cpu_seconds=_R.cpu_seconds + u.cpu_seconds,
            gpu_seconds=_R.gpu_seconds + u.gpu_seconds, accrued_until=u.accrued_until))
        if res.rowcount == 0:
            await self.conn.execute(insert(t.resource_usage).values(
                replica_id=u.replica_id, bucket=u.bucket, team=u.team, deployment=u.deployment,
                revision=u.revision, model=u.model, model_version=u.model_version,
                gpu_model=u.gpu_model, gpus=u.gpus, cpu_seconds=u.cpu_seconds,
                gpu_seconds=u.gpu_seconds, accrued_until=u.accrued_until))

    async def resource_totals(self, by: GroupBy, since: datetime,
                              team: str | None = None) -> list[tuple[str, str, float, float]]:
        """(group, GPU model, CPU-seconds, GPU-seconds) from the buckets at or after ``since``.

        Rows may repeat a group (projects); callers add them up.
        """
        if by == GroupBy.KEY:
            return []  # replica time belongs to deployments, not keys
        group = _group_columns(by, _R)
        q = select(*group, _R.gpu_model, func.sum(_R.cpu_seconds), func.sum(_R.gpu_seconds)).where(
            _R.bucket >= since.replace(minute=0, second=0, microsecond=0)).group_by(
            *group, _R.gpu_model)
        if team is not None:
            q = q.where(_R.team == team)
        rows = [(_label(r, by), str(r[-3]), float(r[-2] or 0), float(r[-1] or 0))
                for r in (await self.conn.execute(q)).all()]
        if by == GroupBy.PROJECT:
            projects = await self.projects()
            rows = [(projects.get(k, NO_PROJECT), g, c, s) for k, g, c, s in rows]
        return rows

    async def budgets(self) -> list[tuple[Budget, str]]:
        """Every budget with the period whose soft alert was raised."""
        rows = await self.conn.execute(select(t.budgets).order_by(t.budgets.c.team))
        return [(Budget(r.team, r.soft, r.hard, Period(r.period)), r.alerted_period) for r in rows]

    async def budget(self, team: str) -> Budget | None:
        """The team's budget, if any."""
        row = (await self.conn.execute(select(t.budgets).where(t.budgets.c.team == team))).first()
        return Budget(row.team, row.soft, row.hard, Period(row.period)) if row else None

    async def set_budget(self, b: Budget, now: datetime, actor: str) -> None:
        """Create or replace the team's budget."""
        await self.conn.execute(delete(t.budgets).where(t.budgets.c.team == b.team))
        await self.conn.execute(insert(t.budgets).values(
            team=b.team, soft=b.soft, hard=b.hard, period=str(b.period), updated_at=now,
            updated_by=actor, alerted_period=""))

    async def delete_budget(self, team: str) -> bool:
        """Remove the team's budget; False when it had none."""
        res = await self.conn.execute(delete(t.budgets).where(t.budgets.c.team == team))
        return bool(res.rowcount)

    async def mark_alerted(self, team: str, period: str) -> None:
        """Remember that ``period``'s soft alert was raised."""
        await self.conn.execute(update(t.budgets).where(t.budgets.c.team == team).values(
            alerted_period=period))
