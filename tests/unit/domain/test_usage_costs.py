"""Usage aggregation, windows, replica-time accrual and cost attribution (pure, FakeClock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelyard.domain.clock import FakeClock
from modelyard.domain.costs import (
    Budget,
    BudgetState,
    Period,
    Prices,
    ResourceSeconds,
    cost_line,
    cost_of,
    judge,
    period_label,
    period_start,
)
from modelyard.domain.errors import ModelyardError
from modelyard.domain.replicas import Allocation
from modelyard.domain.usage import (
    GroupBy,
    Held,
    UsageRecord,
    accrue,
    aggregate,
    bucket_of,
    held,
    parse_since,
)

T0 = datetime(2026, 3, 1, 12, 40, tzinfo=UTC)


def _rec(team: str, dep: str, status: int = 200, p: int = 0, c: int = 0) -> UsageRecord:
    return UsageRecord(T0, team, f"k-{team}", dep, 1, "m", status, 0.5, p, c, model_version=2)


def test_aggregate_counts_errors_tokens_and_groups() -> None:
    recs = [_rec("a", "x", p=3, c=5), _rec("a", "y", status=503), _rec("b", "x", status=422, c=1)]
    by_team = {u.key: u for u in aggregate(recs, GroupBy.TEAM)}
    assert (by_team["a"].requests, by_team["a"].errors, by_team["a"].completion_tokens) == (2, 1, 5)
    assert (by_team["b"].requests, by_team["b"].errors) == (1, 0)  # a 4xx is the caller's fault
    assert by_team["a"].mean_latency_s == 0.5
    assert [u.key for u in aggregate(recs, GroupBy.MODEL)] == ["m@2"]
    assert [u.key for u in aggregate(recs, GroupBy.KEY)] == ["k-a", "k-b"]


def test_record_json_round_trip() -> None:
    r = _rec("a", "x", p=1, c=2)
    assert UsageRecord.from_json(r.to_json()) == r


@pytest.mark.parametrize(("text", "delta"), [("7d", timedelta(days=7)), ("24h", timedelta(hours=24)),
                                             ("30m", timedelta(minutes=30)), ("2w", timedelta(weeks=2)),
                                             ("90s", timedelta(seconds=90))])
def test_parse_since(text: str, delta: timedelta) -> None:
    assert parse_since(text, T0) == T0 - delta


def test_parse_since_iso_and_garbage() -> None:
    assert parse_since("2026-03-01T00:00:00+00:00", T0) == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ModelyardError):
        parse_since("last tuesday", T0)


def test_accrue_splits_over_hour_buckets_with_fake_clock() -> None:
    clock = FakeClock(T0)
    start = clock.now()
    clock.advance(2 * 3600 + 30 * 60)  # 12:40 → 15:10
    pieces = accrue(start, clock.now())
    assert [b.hour for b, _ in pieces] == [12, 13, 14, 15]
    assert [s for _, s in pieces] == [1200.0, 3600.0, 3600.0, 600.0]
    assert sum(s for _, s in pieces) == 9000.0
    assert accrue(clock.now(), start) == []
    assert bucket_of(T0) == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_cost_of_a_known_allocation() -> None:
    # two H100s and one CPU for 90 minutes, one A10 for 30 minutes
    prices = Prices({"H100": 4.0, "A10": 1.0}, default_gpu_hour=2.0, cpu_hour=0.1)
    usage = ResourceSeconds(cpu_seconds=5400, gpu_seconds={"H100": 2 * 5400, "A10": 1800})
    assert cost_of(usage, prices) == pytest.approx(2 * 1.5 * 4.0 + 0.5 * 1.0 + 1.5 * 0.1)
    line = cost_line("team-a", usage, tokens=200_000, prices=prices)
    assert line.gpu_seconds == 12600
    assert line.cost_per_1k_tokens == pytest.approx(line.cost / 200)
    assert cost_line("x", ResourceSeconds(), 0, prices).cost_per_1k_tokens is None
    assert Prices(default_gpu_hour=3.0).of_gpu("L4") == 3.0


def test_budget_verdicts_and_periods() -> None:
    b = Budget("a", soft=100, hard=150, period=Period.MONTH)
    assert judge(b, 99.9).state == BudgetState.OK
    assert judge(b, 100).state == BudgetState.SOFT_EXCEEDED
    assert judge(b, 150).state == BudgetState.HARD_EXCEEDED
    assert judge(b, 75).used_ratio == 0.5
    now = datetime(2026, 3, 18, 9, 30, tzinfo=UTC)  # a Wednesday
    assert period_start(now, Period.MONTH) == datetime(2026, 3, 1, tzinfo=UTC)
    assert period_start(now, Period.WEEK) == datetime(2026, 3, 16, tzinfo=UTC)
    assert period_start(now, Period.DAY) == datetime(2026, 3, 18, tzinfo=UTC)
    assert period_label(now, Period.MONTH) == "2026-03"
    with pytest.raises(ModelyardError):
        Budget("a", soft=200, hard=150)


def test_held_resources_from_the_scheduler_allocation() -> None:
    assert held(None) == Held(1.0, 0.0, "")
    assert held(Allocation((0, 1), 1000, 0, "H100", 8000)) == Held(8.0, 2.0, "H100")
    assert held(Allocation((3,), 250, 0, "A10")) == Held(1.0, 0.25, "A10")
    assert held(Allocation((), 0, 0, "A10", 500)) == Held(0.5, 0.0, "")
