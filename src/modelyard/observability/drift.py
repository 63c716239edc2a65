"""Drift statistics (pure): PSI and the two-sample Kolmogorov–Smirnov test over windows.

``psi`` bins both samples on the reference's quantiles (``bins`` edges, ties merged) and
sums ``(p − q) · ln(p / q)`` with a small floor so empty bins stay finite. ``ks`` returns
the statistic D (largest gap between the two empirical CDFs) and its asymptotic p-value
(the Kolmogorov distribution with Stephens' small-sample correction, as scipy's
``ks_2samp(method="asymp")``). ``compare`` judges every feature and the prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-4


def psi(reference: Sequence[float], current: Sequence[float], bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.size == 0 or cur.size == 0:
        return 0.0
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    q = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    p, q = np.maximum(p, EPS), np.maximum(q, EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def _kolmogorov_sf(x: float) -> float:
    if x <= 0:
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, 101))
    return float(min(1.0, max(0.0, 2 * total)))


def ks(reference: Sequence[float], current: Sequence[float]) -> tuple[float, float]:
    """(D, p-value) of the two-sample KS test; (0, 1) when a sample is empty."""
    a = np.sort(np.asarray(reference, dtype=np.float64))
    b = np.sort(np.asarray(current, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        return 0.0, 1.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    n = a.size * b.size / (a.size + b.size)
    return d, _kolmogorov_sf((math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d)


@dataclass(frozen=True)
class Thresholds:
    """When a feature counts as drifted: PSI at or above ``psi``, or KS p below ``ks_alpha``."""

    psi: float = 0.25
    ks_alpha: float = 0.001
    min_samples: int = 50


@dataclass(frozen=True)
class FeatureDrift:
    """One feature (or the prediction) compared with the reference."""

    name: str
    psi: float
    ks: float
    p_value: float
    drifted: bool

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {"name": self.name, "psi": round(self.psi, 6), "ks": round(self.ks, 6),
                "p_value": self.p_value, "drifted": self.drifted}


def feature_drift(name: str, reference: Sequence[float], current: Sequence[float],
                  t: Thresholds) -> FeatureDrift:
    """Compare one column."""
    value = psi(reference, current)
    d, p = ks(reference, current)
    return FeatureDrift(name, value, d, p, value >= t.psi or p < t.ks_alpha)


def compare(names: Sequence[str], reference: Sequence[Sequence[float]],
            current: Sequence[Sequence[float]], t: Thresholds) -> list[FeatureDrift]:
    """Per-column drift of ``current`` rows against ``reference`` rows (same columns)."""
    ref = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    cur = np.asarray(current, dtype=np.float64).reshape(len(current), -1)
    width = min(ref.shape[1], cur.shape[1], len(names))
    return [feature_drift(names[i], ref[:, i].tolist(), cur[:, i].tolist(), t)
            for i in range(width)]


@dataclass(frozen=True)
class RateShift:
    """Error rate of the current window against the reference window."""

    reference: float
    current: float
    drifted: bool

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {"name": "error_rate", "reference": round(self.reference, 6),
                "current": round(self.current, 6), "shift": round(self.current - self.reference, 6),
                "drifted": self.drifted}


def llm_drift(reference: Sequence[tuple[int, int, bool]], current: Sequence[tuple[int, int, bool]],
              t: Thresholds, max_error_rate_increase: float = 0.05
              ) -> tuple[list[FeatureDrift], RateShift]:
    """Prompt and completion length drift and error-rate shift of LLM requests.

    Each request is ``(prompt tokens, completion tokens, failed)``; lengths are compared
    over the successful requests.
    """
    ref_ok = [r for r in reference if not r[2]]
    cur_ok = [r for r in current if not r[2]]
    lengths = [feature_drift(name, [r[i] for r in ref_ok], [r[i] for r in cur_ok], t)
               for i, name in ((0, "prompt_tokens"), (1, "completion_tokens"))]
    ref_rate = sum(r[2] for r in reference) / len(reference) if reference else 0.0
    cur_rate = sum(r[2] for r in current) / len(current) if current else 0.0
    return lengths, RateShift(ref_rate, cur_rate, cur_rate - ref_rate > max_error_rate_increase)
