"""SqlAuditRepository: append to and read the hash-chained audit log.

Appends never fork the chain: each one first updates the single ``audit_head`` row,
which takes the write lock (SQLite: the database's single writer; PostgreSQL: the row
lock, held to commit) before it reads the previous hash. The event is written in the
caller's transaction, so a change and its audit event commit or roll back together.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.audit import AuditDraft, AuditEvent, Outcome, seal
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc_req

_PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which events to list; every field narrows the result."""

    actor: str | None = None
    target: str | None = None
    action: str | None = None
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0
    limit: int = 100


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        seq=int(row.seq), time=utc_req(row.time), actor=row.actor, team=row.team,
        action=row.action, target=row.target, outcome=Outcome(row.outcome),
        before_digest=row.before_digest, after_digest=row.after_digest,
        request_id=row.request_id, source=row.source, details=json.loads(row.details),
        prev_hash=row.prev_hash, hash=row.hash)


def _filtered(f: AuditFilter) -> Select[Any]:
    c = t.audit_events.c
    q = select(t.audit_events).where(c.seq > f.after_seq)
    for column, value in ((c.actor, f.actor), (c.target, f.target), (c.action, f.action),
                          (c.team, f.team)):
        if value is not None:
            q = q.where(column == value)
    if f.since is not None:
        q = q.where(c.time >= f.since)
    if f.until is not None:
        q = q.where(c.time < f.until)
    return q.order_by(c.seq).limit(f.limit)


class SqlAuditRepository:
    """The audit log in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def append(self, draft: AuditDraft) -> AuditEvent:
        """Chain ``draft`` after the current head and store it."""
        h = t.audit_head.c
        # Lock first (a no-op write), read second: see the module docstring.
        await self.conn.execute(update(t.audit_head).where(h.id == 1).values(seq=h.seq))
        head = (await self.conn.execute(select(h.seq, h.hash).where(h.id == 1))).one()
        event = seal(draft, int(head.seq) + 1, head.hash)
        await self.conn.execute(insert(t.audit_events).values(
            seq=event.seq, time=event.time, actor=event.actor, team=event.team,
            action=event.action, target=event.target, outcome=str(event.outcome),
            before_digest=event.before_digest, after_digest=event.after_digest,
            request_id=event.request_id, source=event.source,
            details=json.dumps(dict(event.details), sort_keys=True),
            prev_hash=event.prev_hash, hash=event.hash))
        await self.conn.execute(update(t.audit_head).where(h.id == 1).values(
            seq=event.seq, hash=event.hash))
        return event

    async def head(self) -> tuple[int, str]:
        """The recorded ``(last seq, last hash)``."""
        h = t.audit_head.c
        row = (await self.conn.execute(select(h.seq, h.hash).where(h.id == 1))).one()
        return int(row.seq), str(row.hash)

    async def list(self, f: AuditFilter) -> list[AuditEvent]:
        """Events matching ``f``, oldest first, at most ``f.limit``."""
        return [_event(r) for r in await self.conn.execute(_filtered(f))]

    async def walk(self, up_to_seq: int) -> AsyncIterator[AuditEvent]:
        """Every event up to ``up_to_seq`` in sequence order, page by page.

        Later events are appends that committed after the caller read the head.
        """
        after = 0
        while True:
            page = await self.list(AuditFilter(after_seq=after, limit=_PAGE))
            for event in page:
                if event.seq > up_to_seq:
                    return
                yield event
            if len(page) < _PAGE:
                return
            after = page[-1].seq
