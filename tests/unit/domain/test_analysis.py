"""Canary analysis verdict matrix and per-revision stats arithmetic."""

from __future__ import annotations

import pytest

from modelyard.domain.analysis import Failed, Inconclusive, Passed, Thresholds, analyze
from modelyard.domain.revision_stats import (
    RevisionStats,
    bucket_index,
    merge,
    observe,
    observe_comparison,
    snapshot_from_json,
    snapshot_to_json,
    window,
)


def stats(requests: int, errors: int = 0, latency_s: float = 0.004) -> RevisionStats:
    s = RevisionStats()
    for i in range(requests):
        s = observe(s, latency_s, error=i < errors)
    return s


TH = Thresholds(max_error_rate_increase=0.02, max_p95_ratio=1.5, latency_slack_s=0.01,
                min_requests=20)


@pytest.mark.parametrize(("stable", "candidate", "verdict"), [
    (stats(100), stats(19), Inconclusive),                      # too few candidate requests
    (stats(100), stats(20), Passed),
    (stats(100), stats(100, errors=2), Passed),                  # 2% = stable + 2 points
    (stats(100), stats(100, errors=3), Failed),                  # 3% > 0% + 2 points
    (stats(100, errors=10), stats(100, errors=11), Passed),      # relative to stable's errors
    (stats(100, errors=10), stats(100, errors=13), Failed),
    (stats(5, errors=5), stats(100, errors=3), Failed),          # stable too quiet: judged vs 0
    (stats(100, latency_s=0.004), stats(100, latency_s=0.012), Passed),   # within slack
    (stats(100, latency_s=0.004), stats(100, latency_s=0.06), Failed),    # p95 way above
    (stats(100, latency_s=0.1), stats(100, latency_s=0.14), Passed),      # ratio 1.4
    (stats(100, latency_s=0.1), stats(100, latency_s=0.4), Failed),       # ratio 4
    (stats(5, latency_s=0.001), stats(100, latency_s=0.4), Passed),       # no latency baseline
    (stats(100), stats(100, errors=50, latency_s=0.4), Failed),
])
def test_verdict_matrix(stable: RevisionStats, candidate: RevisionStats, verdict: type) -> None:
    assert isinstance(analyze(stable, candidate, TH), verdict)


def test_failed_names_every_reason_and_figures() -> None:
    v = analyze(stats(100), stats(100, errors=50, latency_s=0.4), TH)
    assert isinstance(v, Failed) and len(v.reasons) == 2
    assert v.figures.candidate_error_rate == 0.5 and v.figures.stable_requests == 100


def test_quantile_interpolates_inside_bucket() -> None:
    s = stats(100, latency_s=0.004)
    p95 = s.quantile_s(0.95)
    assert p95 is not None and 0.0025 < p95 <= 0.005
    assert RevisionStats().quantile_s(0.95) is None
    assert stats(10, latency_s=100).quantile_s(0.5) == 30.0


def test_bucket_index_edges() -> None:
    assert bucket_index(0.0) == 0 and bucket_index(0.001) == 0 and bucket_index(0.0011) == 1
    assert bucket_index(31) == 21


def test_window_merge_and_json_round_trip() -> None:
    a, b = stats(10, errors=1), stats(30, errors=2)
    w = window(b, a)
    assert (w.requests, w.errors) == (20, 1)
    assert window(a, b) == a                       # counters went down: a restart
    assert window(a, None) == a
    m = merge([a, b])
    assert (m.requests, m.errors, sum(m.buckets)) == (40, 3, 40)
    c = observe_comparison(observe_comparison(a, disagreed=True), disagreed=False)
    assert c.disagreement_rate == 0.5 and a.disagreement_rate is None
    snap = {"d": {1: a, 2: c}}
    assert snapshot_from_json(snapshot_to_json(snap)) == snap
    with pytest.raises(ValueError):
        RevisionStats.from_json({**a.to_json(), "buckets": [1, 2]})
