"""Service-level agreements of a validation run: parse, measure, judge (pure).

An SLA is a comma-separated list of objectives, ``METRIC<VALUE``:
``p95<200ms,error_rate<1%,ttft_p95<500ms,tpot_p95<50ms``. Latency metrics are ``pNN``
(end-to-end), ``ttft_pNN``, ``tpot_pNN`` and ``itl_pNN`` (also ``_mean``); values take
``ms``, ``s`` or ``us``. ``error_rate`` takes a percentage or a fraction; ``throughput``
(requests/s) and ``goodput`` use ``>``.

Definitions follow vLLM's serving benchmark: TTFT = time to the first streamed content
chunk; TPOT per request = (latency − TTFT) / (output tokens − 1), for requests with more
than one output token; ITL = the gaps between consecutive content chunks, pooled over all
requests. Percentiles interpolate linearly between order statistics (as ``numpy.percentile``).
Goodput = requests per second that succeeded and met every per-request objective (latency,
TTFT, TPOT, ITL thresholds applied to the request's own values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelyard.domain.errors import ErrorCode, ModelyardError

_SLO = re.compile(r"^(?P<metric>[a-z_0-9]+)\s*(?P<op><=|>=|<|>)\s*(?P<value>[0-9.]+)\s*"
                  r"(?P<unit>ms|us|s|%)?$")
_LATENCY = re.compile(r"^(?:(?P<family>ttft|tpot|itl|latency)_)?(?P<stat>p\d{1,2}(?:\.\d+)?|mean)$")
_UNITS = {"ms": 1e-3, "us": 1e-6, "s": 1.0}
RATIOS = ("error_rate",)
RATES = ("throughput", "goodput")


@dataclass(frozen=True)
class Slo:
    """One objective: ``metric op threshold`` (seconds, a fraction, or requests per second)."""

    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        if self.metric in RATIOS:
            return f"{self.metric}{self.op}{self.threshold * 100:g}%"
        if self.metric in RATES:
            return f"{self.metric}{self.op}{self.threshold:g}/s"
        return f"{self.metric}{self.op}{self.threshold * 1000:g}ms"

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` meets the objective (no value never does)."""
        if value is None or math.isnan(value):
            return False
        return {"<": value < self.threshold, "<=": value <= self.threshold,
                ">": value > self.threshold, ">=": value >= self.threshold}[self.op]


def _fail(part: str, why: str) -> ModelyardError:
    return ModelyardError(ErrorCode.INVALID_REQUEST, f"SLA objective {part!r}: {why}")


def _value(metric: str, raw: str, unit: str | None, part: str) -> float:
    value = float(raw)
    if metric in RATIOS:
        if unit not in (None, "%"):
            raise _fail(part, "a rate takes a percentage or a fraction")
        return value / 100 if unit == "%" else value
    if metric in RATES:
        if unit is not None:
            raise _fail(part, "throughput and goodput are requests per second, without a unit")
        return value
    if _LATENCY.fullmatch(metric) is None:
        raise _fail(part, "unknown metric (use pNN, ttft_pNN, tpot_pNN, itl_pNN, error_rate, "
                          "throughput, goodput)")
    if unit not in _UNITS:
        raise _fail(part, "a latency needs ms, s or us")
    return value * _UNITS[unit]


def parse_sla(text: str) -> tuple[Slo, ...]:
    """Parse ``p95<200ms,error_rate<1%`` into objectives."""
    slos = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        m = _SLO.fullmatch(part)
        if m is None:
            raise _fail(part, "expected METRIC<VALUE, such as p95<200ms")
        metric = m["metric"]
        slos.append(Slo(metric, m["op"], _value(metric, m["value"], m["unit"], part)))
    if not slos:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, "the SLA has no objective")
    return tuple(slos)


@dataclass(frozen=True)
class Sample:
    """One request of a validation run, as the driver measured it."""

    ok: bool
    latency_s: float
    ttft_s: float | None = None
    output_tokens: int = 0
    itls_s: tuple[float, ...] = ()

    @property
    def tpot_s(self) -> float | None:
        """(latency − TTFT) / (output tokens − 1), for streamed answers of 2+ tokens."""
        if self.ttft_s is None or self.output_tokens < 2:
            return None
        return (self.latency_s - self.ttft_s) / (self.output_tokens - 1)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile with linear interpolation; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _stat(values: Sequence[float], stat: str) -> float | None:
    if stat == "mean":
        return sum(values) / len(values) if values else None
    return percentile(values, float(stat[1:]))


def family_values(samples: Sequence[Sample], family: str) -> list[float]:
    """The values of one latency family over the successful requests."""
    ok = [s for s in samples if s.ok]
    if family == "ttft":
        return [s.ttft_s for s in ok if s.ttft_s is not None]
    if family == "tpot":
        return [t for s in ok if (t := s.tpot_s) is not None]
    if family == "itl":
        return [gap for s in ok for gap in s.itls_s]
    return [s.latency_s for s in ok]


def metric_value(metric: str, samples: Sequence[Sample], duration_s: float,
                 slos: Sequence[Slo] = ()) -> float | None:
    """The value of ``metric`` over a run."""
    if metric == "error_rate":
        return sum(1 for s in samples if not s.ok) / len(samples) if samples else None
    if metric == "throughput":
        return sum(1 for s in samples if s.ok) / duration_s if duration_s > 0 else None
    if metric == "goodput":
        return good_requests(samples, slos) / duration_s if duration_s > 0 else None
    m = _LATENCY.fullmatch(metric)
    if m is None:
        return None
    return _stat(family_values(samples, m["family"] or "latency"), m["stat"])


def _request_value(s: Sample, family: str) -> float | None:
    if family == "ttft":
        return s.ttft_s
    if family == "tpot":
        return s.tpot_s
    if family == "itl":
        return max(s.itls_s) if s.itls_s else None
    return s.latency_s


def good_requests(samples: Sequence[Sample], slos: Sequence[Slo]) -> int:
    """Successful requests whose own latency, TTFT, TPOT and ITL meet every threshold."""
    checks = [(m["family"] or "latency", slo) for slo in slos
              if (m := _LATENCY.fullmatch(slo.metric)) is not None]
    good = 0
    for s in samples:
        if s.ok and all((v := _request_value(s, fam)) is None or slo.holds(v)
                        for fam, slo in checks):
            good += 1
    return good


@dataclass(frozen=True)
class SloResult:
    """One objective judged."""

    slo: Slo
    value: float | None
    passed: bool


def evaluate(slos: Sequence[Slo], samples: Sequence[Sample], duration_s: float) -> list[SloResult]:
    """Judge every objective over a run."""
    out = []
    for slo in slos:
        value = metric_value(slo.metric, samples, duration_s, slos)
        out.append(SloResult(slo, value, slo.holds(value)))
    return out


def summarize(samples: Sequence[Sample], duration_s: float,
              slos: Sequence[Slo] = ()) -> dict[str, Any]:
    """The figures of a run: counts, rates and latency statistics per family."""
    ok = sum(1 for s in samples if s.ok)
    figures: dict[str, Any] = {
        "requests": len(samples), "succeeded": ok, "failed": len(samples) - ok,
        "duration_s": round(duration_s, 3),
        "error_rate": metric_value("error_rate", samples, duration_s),
        "throughput_rps": metric_value("throughput", samples, duration_s),
        "goodput_rps": metric_value("goodput", samples, duration_s, slos),
    }
    tokens = sum(s.output_tokens for s in samples if s.ok)
    if tokens:
        figures["output_tokens"] = tokens
        figures["output_tokens_per_s"] = tokens / duration_s if duration_s > 0 else None
    for family in ("latency", "ttft", "tpot", "itl"):
        values = family_values(samples, family)
        if not values:
            continue
        figures[family] = {stat: _stat(values, stat)
                           for stat in ("mean", "p50", "p90", "p95", "p99")}
    return figures
