"""SLA parsing, percentiles and the vLLM-style TTFT / TPOT / ITL / goodput figures."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.domain.errors import ModelyardError
from modelyard.domain.sla import Sample, Slo, evaluate, parse_sla, percentile, summarize


def test_parse_sla_units() -> None:
    slos = parse_sla("p95<200ms, error_rate<1%,ttft_p95<0.5s,tpot_p95<=50ms,throughput>10")
    assert slos == (Slo("p95", "<", pytest.approx(0.2)), Slo("error_rate", "<", 0.01),
                    Slo("ttft_p95", "<", 0.5), Slo("tpot_p95", "<=", pytest.approx(0.05)),
                    Slo("throughput", ">", 10.0))
    assert str(slos[0]) == "p95<200ms" and str(slos[1]) == "error_rate<1%"


@pytest.mark.parametrize("bad", ["", "p95", "p95<200", "latency<2ms", "error_rate<3ms",
                                 "p95<200parsecs", "throughput>3ms"])
def test_parse_sla_refuses(bad: str) -> None:
    with pytest.raises(ModelyardError):
        parse_sla(bad)


def test_percentile_matches_numpy() -> None:
    values = [0.3, 0.1, 0.7, 0.2, 0.9, 0.4, 0.5]
    for q in (0, 50, 90, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 95) is None


def test_tpot_itl_and_goodput() -> None:
    # 1 s latency, first token at 0.2 s, 5 tokens: TPOT = 0.8 / 4
    fast = Sample(True, 1.0, 0.2, 5, (0.2, 0.2, 0.2, 0.2))
    slow = Sample(True, 3.0, 1.0, 3, (1.0, 1.0))
    failed = Sample(False, 0.1)
    assert fast.tpot_s == pytest.approx(0.2)
    assert Sample(True, 1.0, 0.2, 1).tpot_s is None
    slos = parse_sla("ttft_p95<500ms,tpot_p95<300ms,error_rate<50%")
    results = {r.slo.metric: r for r in evaluate(slos, [fast, slow, failed], 10.0)}
    assert results["error_rate"].value == pytest.approx(1 / 3) and results["error_rate"].passed
    assert results["ttft_p95"].value == pytest.approx(np.percentile([0.2, 1.0], 95))
    assert not results["ttft_p95"].passed
    figures = summarize([fast, slow, failed], 10.0, slos)
    assert figures["goodput_rps"] == pytest.approx(0.1)  # only `fast` meets every objective
    assert figures["throughput_rps"] == pytest.approx(0.2)
    assert figures["itl"]["mean"] == pytest.approx((0.8 + 2.0) / 6)
    assert figures["output_tokens"] == 8
