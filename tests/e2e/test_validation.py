"""End to end: ``modelyard validate`` load-tests real deployments through the gateway,
records the result on the revision, and the promotion gate obeys it.

A fast iris model passes ``p95<200ms``; ``SlowClassifier`` (50 ms per call) fails
``p95<30ms``. A tiny Llama is validated on streamed chat with TTFT and TPOT objectives.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import joblib
import pytest
from sklearn.datasets import load_iris

from tests.integration.runtimes import artifacts
from tests.support.broken_models import SlowClassifier
from tests.support.cli import cli_json, run_cli
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def yard(tmp_path_factory: pytest.TempPathFactory,
         iris_model: tuple[Path, object]) -> Iterator[PlatformProcess]:
    base = tmp_path_factory.mktemp("validation")
    x, y = load_iris(return_X_y=True)
    slow = base / "slow.joblib"
    joblib.dump(SlowClassifier(max_iter=500).fit(x, y), slow)
    llama_dir = base / "llama"
    llama_dir.mkdir()
    llama = artifacts.build_tiny_llama(llama_dir)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    p = PlatformProcess(base / "home", env={"PYTHONPATH": pythonpath}).start()
    try:
        c = p.client()
        c.register("iris", iris_model[0])
        c.register("slow", slow, framework="sklearn")
        c.register("tiny-llama", llama, task="text-generation")
        for name, model in (("fast-stage", "iris"), ("slow-stage", "slow"),
                            ("llm-stage", "tiny-llama")):
            c.deploy(name=name, model=model, version=1, replicas=1, environment="staging")
        wait_for(lambda: all(c.deployment(n)["status"] == "ready"
                             for n in ("fast-stage", "slow-stage", "llm-stage")), timeout_s=120)
        yield p
    finally:
        p.stop()
        cleanup_replicas(p.home)


def _validate(p: PlatformProcess, name: str, sla: str, *extra: str) -> tuple[int, dict[str, object]]:
    done = run_cli(p.url, p.key, "validate", name, "--concurrency", "4", "--duration", "2s",
                   "--sla", sla, *extra, "-o", "json", check=False)
    assert done.returncode in (0, 3), done.stderr
    assert "requests" in done.stderr  # live progress
    return done.returncode, json.loads(done.stdout)


def test_passing_validation_is_recorded_and_opens_the_gate(yard: PlatformProcess,
                                                           tmp_path: Path) -> None:
    x, _ = load_iris(return_X_y=True)
    dataset = tmp_path / "recorded.jsonl"  # recorded inputs instead of synthetic ones
    dataset.write_text("".join(json.dumps({"inputs": [{"name": "x", "shape": [1, 4],
                                                       "datatype": "FP64", "data": row.tolist()}]})
                               + "\n" for row in x[:50]))
    rc, report = _validate(yard, "fast-stage", "p95<200ms,error_rate<1%", "--dataset", str(dataset))
    assert rc == 0 and report["passed"] is True, report
    figures = report["figures"]
    assert figures["requests"] > 20 and figures["failed"] == 0
    assert figures["throughput_rps"] > 10 and figures["goodput_rps"] > 10
    assert figures["latency"]["p95"] < 0.2
    recorded = yard.client().http.get(
        "/api/v1/deployments/fast-stage/revisions/1/validations").json()[-1]
    assert recorded["passed"] is True and recorded["figures"]["slos"][0]["objective"] == "p95<200ms"
    assert recorded["command"].startswith("modelyard validate fast-stage --concurrency 4")
    assert "--dataset" in recorded["command"]
    out = cli_json(yard.url, yard.key, "deployments", "promote", "fast-stage", "--to", "fast-prod")
    assert "passed" in out["gate"]
    yard.client().delete_deployment("fast-prod")


def test_failing_validation_blocks_promotion(yard: PlatformProcess) -> None:
    # open loop: Poisson arrivals at 40/s, at most 4 in flight
    rc, report = _validate(yard, "slow-stage", "p95<30ms,error_rate<1%", "--rate", "40")
    assert rc == 3 and report["passed"] is False
    results = {s["metric"]: s for s in report["slos"]}  # type: ignore[union-attr]
    assert results["p95"]["passed"] is False and results["p95"]["value"] >= 0.05
    assert results["error_rate"]["passed"] is True
    assert report["figures"]["goodput_rps"] == 0  # type: ignore[index]
    assert "--rate 40.0" in str(report["command"])
    blocked = run_cli(yard.url, yard.key, "deployments", "promote", "slow-stage", "--to",
                      "slow-prod", check=False)
    assert blocked.returncode == 1 and "promotion_blocked" in blocked.stderr
    assert "p95" in blocked.stderr


def test_llm_validation_measures_ttft_tpot_itl(yard: PlatformProcess) -> None:
    rc, report = _validate(yard, "llm-stage", "p95<30s,ttft_p95<30s,tpot_p95<10s,error_rate<1%",
                           "--input-len", "8", "--output-len", "6", "--no-record")
    assert rc == 0, report
    figures = report["figures"]
    assert isinstance(figures, dict)
    assert {"latency", "ttft", "tpot", "itl"} <= set(figures)
    assert figures["ttft"]["p50"] <= figures["latency"]["p50"]
    assert figures["output_tokens"] >= figures["succeeded"]
    table = run_cli(yard.url, yard.key, "validate", "llm-stage", "--concurrency", "2",
                    "--duration", "1s", "--sla", "ttft_p95<1ms", "--no-record", check=False)
    assert table.returncode == 3 and "FAIL" in table.stdout and "ttft" in table.stdout
