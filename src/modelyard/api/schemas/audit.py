"""Schemas of audit events and chain verification."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from modelyard.domain.audit import AuditEvent, ChainBroken, ChainOk


class AuditEventPublic(BaseModel):
    """One audit event with its chain hashes."""

    seq: int
    time: datetime
    actor: str
    team: str
    action: str
    target: str
    outcome: str
    before_digest: str | None
    after_digest: str | None
    request_id: str
    source: str
    details: dict[str, str]
    prev_hash: str
    hash: str

    @classmethod
    def from_domain(cls, e: AuditEvent) -> AuditEventPublic:
        """Build from the domain object."""
        return cls(seq=e.seq, time=e.time, actor=e.actor, team=e.team, action=e.action,
                   target=e.target, outcome=str(e.outcome), before_digest=e.before_digest,
                   after_digest=e.after_digest, request_id=e.request_id, source=e.source,
                   details=dict(e.details), prev_hash=e.prev_hash, hash=e.hash)


class ChainPublic(BaseModel):
    """The result of walking the chain."""

    ok: bool
    checked: int
    head_seq: int
    broken_seq: int | None = None
    reason: str | None = None

    @classmethod
    def from_domain(cls, result: ChainOk | ChainBroken, head_seq: int) -> ChainPublic:
        """Build from the verification result."""
        if isinstance(result, ChainOk):
            return cls(ok=True, checked=result.count, head_seq=head_seq)
        return cls(ok=False, checked=result.checked, head_seq=head_seq,
                   broken_seq=result.seq, reason=result.reason)
