"""Quota admission and preemption as decision tables."""

from __future__ import annotations

import pytest

from modelyard.domain.errors import ModelyardError
from modelyard.domain.quotas import PRIORITY_VALUES, PriorityClass, Quota
from modelyard.scheduling.preemption import choose_victims, victim_reason
from modelyard.scheduling.quotas import (
    Admit,
    Claim,
    Queue,
    Reject,
    RunningReplica,
    admit,
)

P = PriorityClass
QUOTAS = (
    Quota.of_gpus("ml", "H100", 4, 2),
    Quota.of_gpus("search", "H100", 4, 0),
    Quota.of_gpus("ml", "A100", 0, 2),
)


def running(team: str, gpus: float, *, model: str = "H100", borrowed: bool = False,
            priority: P = P.DEV, rid: str = "", node: str = "n1", started: float = 0.0) -> RunningReplica:
    return RunningReplica(rid or f"{team}-{gpus}-{started}", team, model, round(gpus * 1000),
                          priority, borrowed, started, node)


def test_priority_order() -> None:
    values = [PRIORITY_VALUES[p] for p in (P.PRODUCTION, P.STAGING, P.DEV, P.BATCH)]
    assert values == sorted(values, reverse=True)
    assert P.BATCH.value_number == P.WORKSPACE.value_number


@pytest.mark.parametrize(
    ("claim", "held", "expected", "text"),
    [
        (Claim("c", "ml", "H100", 2000), [running("ml", 2)], Admit(False), "within guarantee: 4/4"),
        (Claim("c", "ml", "H100", 1000), [running("ml", 4)], Admit(True), "borrowing 1 H100"),
        (Claim("c", "ml", "H100", 1000), [running("ml", 4), running("search", 4)], Queue(""),
         "team quota exhausted: 4/4 H100; only 0 H100 idle to borrow"),
        (Claim("c", "ml", "H100", 1000), [running("ml", 6, borrowed=True)], Queue(""),
         "borrowing limit 2 reached"),
        (Claim("c", "ml", "H100", 7000), [], Reject(""), "exceeds team quota 4 + 2 borrowable"),
        (Claim("c", "web", "H100", 1000), [], Reject(""), "team web has no quota for H100"),
        (Claim("c", "ml", "A100", 1000), [], Queue(""), "only 0 A100 idle to borrow"),
    ],
)
def test_admission_table(claim: Claim, held: list[RunningReplica], expected: object, text: str) -> None:
    decision = admit(claim, QUOTAS, held)
    assert type(decision) is type(expected)
    if isinstance(expected, Admit):
        assert isinstance(decision, Admit) and decision.borrowed == expected.borrowed
    assert text in decision.reason


def test_negative_quota_is_refused() -> None:
    with pytest.raises(ModelyardError):
        Quota("t", "H100", -1)


@pytest.mark.parametrize(
    ("claim_priority", "victim", "reclaiming", "allowed"),
    [
        (P.PRODUCTION, running("other", 1, priority=P.DEV), False, True),
        (P.PRODUCTION, running("other", 1, priority=P.PRODUCTION), False, False),
        (P.PRODUCTION, running("other", 1, priority=P.PRODUCTION, borrowed=True), True, True),
        (P.STAGING, running("ml", 1, priority=P.PRODUCTION), False, False),
        (P.DEV, running("other", 1, priority=P.DEV, borrowed=True), True, True),
        (P.DEV, running("other", 1, priority=P.DEV, borrowed=True), False, False),
        (P.DEV, running("ml", 1, priority=P.DEV, borrowed=True), True, False),
        (P.BATCH, running("other", 1, priority=P.WORKSPACE), False, False),
    ],
)
def test_who_may_be_preempted(claim_priority: P, victim: RunningReplica, reclaiming: bool,
                              allowed: bool) -> None:
    claim = Claim("c", "ml", "H100", 1000, claim_priority)
    assert (victim_reason(claim, victim, reclaiming=reclaiming) is not None) is allowed


def test_fewest_victims_then_lowest_priority_then_newest() -> None:
    held = [
        running("other", 0.5, priority=P.BATCH, rid="small-1", node="n1", started=1),
        running("other", 0.5, priority=P.BATCH, rid="small-2", node="n1", started=2),
        running("other", 1, priority=P.STAGING, rid="big-staging", node="n2", started=3),
        running("other", 1, priority=P.DEV, rid="big-dev-old", node="n3", started=4),
        running("other", 1, priority=P.DEV, rid="big-dev-new", node="n4", started=9),
    ]
    claim = Claim("c", "ml", "H100", 1000, P.PRODUCTION)
    choice = choose_victims(claim, held, QUOTAS, free_milli_by_node={f"n{i}": 0 for i in range(1, 5)})
    assert choice is not None
    assert [v.replica_id for v in choice.victims] == ["big-dev-new"]
    assert choice.node == "n4" and "below production" in choice.reasons[0]


def test_never_another_teams_guaranteed_production() -> None:
    held = [running("search", 4, priority=P.PRODUCTION, node="n1")]
    claim = Claim("c", "ml", "H100", 1000, P.PRODUCTION)
    assert choose_victims(claim, held, QUOTAS, free_milli_by_node={"n1": 0}) is None


def test_reclaims_borrowed_share_for_a_guaranteed_claim() -> None:
    held = [running("ml", 2, borrowed=True, priority=P.DEV, rid="borrower", node="n1"),
            running("search", 2, priority=P.DEV, node="n1")]
    claim = Claim("c", "search", "H100", 2000, P.DEV)
    choice = choose_victims(claim, held, QUOTAS, free_milli_by_node={"n1": 0, "n2": 3000})
    assert choice is None  # n2 already has room: nothing to preempt
    choice = choose_victims(claim, held, QUOTAS, free_milli_by_node={"n1": 0})
    assert choice is not None and [v.replica_id for v in choice.victims] == ["borrower"]
