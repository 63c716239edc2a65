"""AuditEvent and the hash chain that makes the audit log tamper-evident.

Every event carries the hash of the event before it (``prev_hash``) and its own
``hash = sha256(prev_hash + canonical JSON of the event's other fields)``. Sequence
numbers are contiguous from 1, so an edited event breaks its own hash, a deleted one
leaves a gap or a broken ``prev_hash``, and a cut-off tail no longer matches the head
(the last sequence number and hash, kept beside the log). ``verify_chain`` names the
first broken link.

Events hold names, digests and ids only: never a key, a key hash or a secret. Pure: no
I/O, no clock; the store appends and the API reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64


class Outcome(StrEnum):
    """What became of the audited attempt."""

    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditDraft:
    """An event before the store numbers and chains it."""

    time: datetime
    actor: str
    team: str
    action: str
    target: str
    outcome: Outcome = Outcome.OK
    before_digest: str | None = None
    after_digest: str | None = None
    request_id: str = ""
    source: str = ""
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEvent:
    """One chained entry of the append-only audit log."""

    seq: int
    time: datetime
    actor: str
    team: str
    action: str
    target: str
    outcome: Outcome
    before_digest: str | None
    after_digest: str | None
    request_id: str
    source: str
    details: Mapping[str, str]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the API, ``audit export``), hashes included."""
        return {**_body(self), "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True)
class ChainOk:
    """Every link holds."""

    count: int
    head_hash: str


@dataclass(frozen=True)
class ChainBroken:
    """The first link that does not hold, and why."""

    seq: int
    reason: str
    checked: int


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _body(e: AuditEvent | AuditDraft, seq: int | None = None) -> dict[str, Any]:
    return {
        "seq": e.seq if isinstance(e, AuditEvent) else seq,
        "time": _time(e.time), "actor": e.actor, "team": e.team, "action": e.action,
        "target": e.target, "outcome": str(e.outcome), "before_digest": e.before_digest,
        "after_digest": e.after_digest, "request_id": e.request_id, "source": e.source,
        "details": dict(sorted(e.details.items())),
    }


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per event, on every machine."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """The hash of an event whose predecessor's hash is ``prev_hash``."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(body)).hexdigest()


def seal(draft: AuditDraft, seq: int, prev_hash: str) -> AuditEvent:
    """Number and chain ``draft`` after the event ``(seq - 1, prev_hash)``."""
    time = draft.time.astimezone(UTC)
    body = _body(draft, seq) | {"time": _time(time)}
    return AuditEvent(seq, time, draft.actor, draft.team, draft.action, draft.target,
                      draft.outcome, draft.before_digest, draft.after_digest, draft.request_id,
                      draft.source, dict(draft.details), prev_hash, chain_hash(prev_hash, body))


def verify_chain(events: Iterable[AuditEvent], head: tuple[int, str] | None = None
                 ) -> ChainOk | ChainBroken:
    """Walk ``events`` in sequence order from the first; name the first broken link.

    Args:
        events: the whole log, ordered by ``seq``.
        head: the stored ``(last seq, last hash)``; detects a removed tail.
    """
    prev_seq, prev_hash, count = 0, GENESIS_HASH, 0
    for e in events:
        if e.seq != prev_seq + 1:
            return ChainBroken(prev_seq + 1, f"event {prev_seq + 1} is missing", count)
        if e.prev_hash != prev_hash:
            return ChainBroken(e.seq, "prev_hash does not match the previous event", count)
        if chain_hash(e.prev_hash, _body(e)) != e.hash:
            return ChainBroken(e.seq, "the event's content does not match its hash", count)
        prev_seq, prev_hash, count = e.seq, e.hash, count + 1
    if head is None or head == (prev_seq, prev_hash):
        return ChainOk(count, prev_hash)
    if head[0] > prev_seq:
        return ChainBroken(prev_seq + 1, f"events {prev_seq + 1}..{head[0]} are missing", count)
    if head[0] < prev_seq:
        return ChainBroken(head[0] + 1, "events follow the recorded head", count)
    return ChainBroken(prev_seq, "the last event does not match the recorded head", count)


def digest_of(obj: Mapping[str, Any] | None) -> str | None:
    """The sha256 of an object's canonical JSON (before/after state), or None."""
    if obj is None:
        return None
    return "sha256:" + hashlib.sha256(canonical_json(obj)).hexdigest()
