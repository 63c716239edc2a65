"""Audit routes: list events (admin: all; team-admin: their team's) and verify the chain."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from modelyard.api.deps import CP, Caller
from modelyard.api.schemas.audit import AuditEventPublic, ChainPublic
from modelyard.domain.audit import AuditEvent, verify_chain
from modelyard.domain.tenancy import Role
from modelyard.store.repositories.audit import AuditFilter

router = APIRouter(tags=["audit"])


def _utc(value: datetime | None) -> datetime | None:
    """Read a filter time without a zone as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get("/audit", response_model=list[AuditEventPublic])
async def list_audit(
    cp: CP, who: Caller,
    actor: str | None = Query(None, min_length=1, max_length=255),
    target: str | None = Query(None, min_length=1, max_length=255),
    action: str | None = Query(None, min_length=1, max_length=64),
    team: str | None = Query(None, min_length=1, max_length=63),
    since: datetime | None = None, until: datetime | None = None,
    after_seq: int = Query(0, ge=0, le=2**62), limit: int = Query(100, ge=1, le=1000),
) -> list[AuditEventPublic]:
    """Events oldest first, filtered; page with ``after_seq`` (the last ``seq`` seen)."""
    if who.role != Role.ADMIN:
        team = who.team
    f = AuditFilter(actor, target, action, team, _utc(since), _utc(until), after_seq, limit)
    async with cp.store.uow() as uow:
        return [AuditEventPublic.from_domain(e) for e in await uow.audit.list(f)]


@router.get("/audit/verify", response_model=ChainPublic)
async def verify_audit(cp: CP, who: Caller) -> ChainPublic:
    """Walk the whole chain from the first event; name the first broken link (admin)."""
    async with cp.store.uow() as uow:
        head = await uow.audit.head()
        events: list[AuditEvent] = [e async for e in uow.audit.walk(head[0])]
    return ChainPublic.from_domain(verify_chain(events, head), head[0])
