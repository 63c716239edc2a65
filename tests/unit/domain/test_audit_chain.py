"""The audit hash chain: sealing, verification, and every kind of tampering it must catch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from modelyard.domain.audit import (
    GENESIS_HASH,
    AuditDraft,
    AuditEvent,
    ChainBroken,
    ChainOk,
    Outcome,
    chain_hash,
    digest_of,
    seal,
    verify_chain,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def chain(n: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        e = seal(AuditDraft(T0 + timedelta(seconds=i), f"actor{i}", "t", "deployment.scale",
                            f"deployment/d{i}", details={"k": str(i)}), i, prev)
        events.append(e)
        prev = e.hash
    return events


def head(events: list[AuditEvent]) -> tuple[int, str]:
    return (events[-1].seq, events[-1].hash) if events else (0, GENESIS_HASH)


def test_intact_chain_verifies() -> None:
    events = chain(5)
    assert verify_chain(events, head(events)) == ChainOk(5, events[-1].hash)
    assert verify_chain([], (0, GENESIS_HASH)) == ChainOk(0, GENESIS_HASH)
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


@pytest.mark.parametrize("field", ["actor", "team", "action", "target", "request_id", "source"])
def test_edited_field_names_the_event(field: str) -> None:
    events = chain(5)
    events[2] = replace(events[2], **{field: "forged"})
    result = verify_chain(events, head(events))
    assert isinstance(result, ChainBroken) and result.seq == 3 and result.checked == 2


def test_edited_outcome_time_digest_and_details_are_caught() -> None:
    for change in [{"outcome": Outcome.DENIED}, {"time": T0}, {"after_digest": "sha256:x"},
                   {"details": {"k": "forged"}}]:
        events = chain(3)
        events[1] = replace(events[1], **change)  # type: ignore[arg-type]
        assert verify_chain(events, head(events)) == ChainBroken(
            2, "the event's content does not match its hash", 1)


def test_rehashed_edit_breaks_the_next_link() -> None:
    events = chain(4)
    forged = replace(events[1], actor="mallory")
    from modelyard.domain.audit import _body

    events[1] = replace(forged, hash=chain_hash(forged.prev_hash, _body(forged)))
    result = verify_chain(events, head(chain(4)))
    assert isinstance(result, ChainBroken) and result.seq == 3
    assert "prev_hash" in result.reason


def test_deleted_event_and_cut_tail_and_appended_event() -> None:
    events = chain(5)
    gap = events[:2] + events[3:]
    assert verify_chain(gap, head(events)) == ChainBroken(3, "event 3 is missing", 2)
    cut = verify_chain(events[:3], head(events))
    assert isinstance(cut, ChainBroken) and cut.seq == 4 and "missing" in cut.reason
    extra = verify_chain(events, head(events[:4]))
    assert isinstance(extra, ChainBroken) and extra.seq == 5


def test_time_zone_does_not_change_the_hash() -> None:
    draft = AuditDraft(T0, "a", "t", "x", "y")
    shifted = replace(draft, time=T0.astimezone(timezone(timedelta(hours=5))))
    assert seal(draft, 1, GENESIS_HASH).hash == seal(shifted, 1, GENESIS_HASH).hash


def test_to_json_and_digests() -> None:
    e = chain(1)[0]
    data = e.to_json()
    assert data["hash"] == e.hash and data["seq"] == 1 and data["time"].endswith("+00:00")
    assert digest_of(None) is None
    assert digest_of({"a": 1, "b": 2}) == digest_of({"b": 2, "a": 1})
    assert str(digest_of({"a": 1})).startswith("sha256:")
