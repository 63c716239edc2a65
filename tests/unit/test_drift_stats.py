"""PSI and KS against known values and scipy; drift judged per feature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from modelyard.observability.drift import Thresholds, compare, ks, llm_drift, psi


def test_ks_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.1, 0.5):
        a, b = rng.normal(size=300), rng.normal(shift, size=200)
        d, p = ks(a.tolist(), b.tolist())
        ref = stats.ks_2samp(a, b, method="asymp")
        assert d == pytest.approx(ref.statistic)
        assert p == pytest.approx(ref.pvalue, rel=0.05, abs=1e-6)
    assert ks([], [1.0]) == (0.0, 1.0)


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=2000).tolist()
    assert psi(ref, rng.normal(size=2000).tolist()) < 0.02
    assert psi(ref, rng.normal(1.0, size=2000).tolist()) > 0.5
    assert psi(ref, ref) == pytest.approx(0.0)
    assert psi([], ref) == 0.0


def test_compare_flags_only_the_moved_feature() -> None:
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(1000, 3))
    cur = rng.normal(size=(300, 3))
    cur[:, 1] += 2.0
    out = compare(["a", "b", "c"], ref.tolist(), cur.tolist(), Thresholds())
    assert [f.name for f in out if f.drifted] == ["b"]
    assert out[1].psi > 1 and out[1].ks > 0.5


def test_llm_drift_lengths_and_error_rate() -> None:
    rng = np.random.default_rng(3)
    ref = [(int(p), int(c), False) for p, c in zip(rng.poisson(50, 400), rng.poisson(20, 400),
                                                    strict=True)]
    same = [(int(p), int(c), False) for p, c in zip(rng.poisson(50, 300), rng.poisson(20, 300),
                                                    strict=True)]
    lengths, rate = llm_drift(ref, same, Thresholds())
    assert not any(f.drifted for f in lengths) and not rate.drifted
    longer = [(p, c * 4, i % 5 == 0) for i, (p, c, _) in enumerate(same)]
    lengths, rate = llm_drift(ref, longer, Thresholds())
    assert [f.name for f in lengths if f.drifted] == ["completion_tokens"]
    assert rate.drifted and rate.current == pytest.approx(0.2)
