"""End to end: usage records sum exactly to the requests sent, streaming included, across
restarts (a clean shutdown flushes); replica time becomes cost; a spent budget refuses
new deployments.
"""

from __future__ import annotations

import csv
import io
import signal
from pathlib import Path

import httpx
import openai
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.domain.errors import ErrorCode, ModelyardError
from tests.integration.runtimes import artifacts
from tests.support.cli import cli_json, run_cli
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for

ROW = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [6.7, 3.0, 5.2, 2.3]}]}
BAD = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}]}
# flushes only at shutdown: records reach the store only if a clean stop flushes them
NEVER = {"MODELYARD_METERING__FLUSH_INTERVAL_S": "3600"}


def _rows(p: PlatformProcess, by: str) -> dict[str, dict[str, int]]:
    return {r["key"]: r for r in p.client().usage(by, "1h")["rows"]}


def _chat(oa: openai.OpenAI, *, stream: bool, usage: bool) -> tuple[int, int | None]:
    """(content chunks seen, reported completion tokens or None)."""
    messages = [{"role": "user", "content": "tell me about the blue sky"}]
    if not stream:
        out = oa.chat.completions.create(model="tiny-llama", max_tokens=6, seed=1,
                                         messages=messages)  # type: ignore[arg-type]
        assert out.usage is not None
        return 0, out.usage.completion_tokens
    chunks = list(oa.chat.completions.create(
        model="tiny-llama", max_tokens=7, seed=2, stream=True, messages=messages,  # type: ignore[arg-type]
        stream_options={"include_usage": True} if usage else None))
    content = sum(1 for ch in chunks if ch.choices and ch.choices[0].delta.content)
    reported = next((ch.usage.completion_tokens for ch in chunks if ch.usage), None)
    return content, reported


def test_usage_exact_with_streaming_across_restart(
        tmp_path: Path, iris_model: tuple[Path, LogisticRegression]) -> None:
    llama_dir = tmp_path / "llama"
    llama_dir.mkdir()
    llama = artifacts.build_tiny_llama(llama_dir)
    p = PlatformProcess(tmp_path / "home", env=NEVER).start()
    try:
        c = p.client()
        c.register("iris", iris_model[0])
        c.register("tiny-llama", llama, task="text-generation")
        c.deploy(name="iris", model="iris", version=1, replicas=1)
        c.deploy(name="tiny-llama", model="tiny-llama", version=1, replicas=1)
        wait_for(lambda: all(c.deployment(n)["status"] == "ready" for n in ("iris", "tiny-llama")),
                 timeout_s=120)
        with p.http() as http:
            ok = [http.post("/v2/models/iris/infer", json=ROW).status_code for _ in range(7)]
            bad = [http.post("/v2/models/iris/infer", json=BAD).status_code for _ in range(2)]
        assert ok == [200] * 7 and all(s >= 400 for s in bad)
        completion = 0
        with openai.OpenAI(base_url=f"{p.url}/v1", api_key=p.key, max_retries=0) as oa:
            for _ in range(2):
                completion += _chat(oa, stream=False, usage=True)[1] or 0
            for _ in range(2):
                seen, reported = _chat(oa, stream=True, usage=True)
                assert reported is not None and reported > 0
                completion += reported
            for _ in range(2):
                seen, reported = _chat(oa, stream=True, usage=False)
                assert reported is None and seen > 0
                completion += seen
        p.stop()  # SIGTERM: the gateway flushes its queue on the way out
        p.start()
        rows = _rows(p, "deployment")
        assert rows["iris"]["requests"] == 9
        assert rows["iris"]["completion_tokens"] == 0
        assert rows["tiny-llama"]["requests"] == 6
        assert rows["tiny-llama"]["completion_tokens"] == completion
        assert rows["tiny-llama"]["prompt_tokens"] > 0
        assert _rows(p, "team")["default"]["requests"] == 15
        assert _rows(p, "model")["iris@1"]["requests"] == 9
        keys = _rows(p, "key")
        assert sum(r["requests"] for r in keys.values()) == 15 and len(keys) == 1
        out = run_cli(p.url, p.key, "usage", "report", "--by", "deployment", "--since", "1d",
                      "--format", "csv").stdout
        parsed = {r["deployment"]: r for r in csv.DictReader(io.StringIO(out))}
        assert parsed["iris"]["requests"] == "9"
        assert parsed["tiny-llama"]["completion_tokens"] == str(completion)
    finally:
        p.stop()
        cleanup_replicas(p.home)


def test_separate_gateway_posts_usage_and_flushes_on_stop(
        tmp_path: Path, iris_model: tuple[Path, LogisticRegression]) -> None:
    home = tmp_path / "home"
    server = PlatformProcess(home, "server").start()
    gateway = PlatformProcess(tmp_path / "gw", "gateway", extra=["--server", server.url],
                              env={"MODELYARD_API_KEY": server.key, **NEVER,
                                   "MODELYARD_DRIFT__SAMPLE_RATE": "1"})
    try:
        gateway.start()
        c = server.client()
        c.register("iris", iris_model[0])
        c.deploy(name="iris", model="iris", version=1, replicas=1)
        wait_for(lambda: c.deployment("iris")["status"] == "ready")
        sent = 0
        for _ in range(2):  # two gateway lifetimes: each stop flushes what it queued
            with gateway.http(server.key) as http:
                # the model list is answered by the gateway itself: not a metered request
                wait_for(lambda h=http: [m["id"] for m in h.get("/v1/models").json()["data"]])
                for _ in range(11):
                    assert http.post("/v2/models/iris/infer", json=ROW).status_code == 200
                    sent += 1
            gateway.stop(signal.SIGTERM)
            assert _rows(server, "deployment")["iris"]["requests"] == sent
            assert server.client().drift("iris")["samples"] == sent  # one row per request
            gateway.start()
    finally:
        gateway.stop()
        server.stop()
        cleanup_replicas(home)


@pytest.mark.slow
def test_costs_and_budget_hard_limit(
        tmp_path: Path, iris_model: tuple[Path, LogisticRegression]) -> None:
    # one CPU-hour costs 3600: a replica costs 1 per second
    env = {"MODELYARD_COSTS__CPU_HOUR": "3600", "MODELYARD_METERING__ACCRUE_INTERVAL_S": "0.2"}
    p = PlatformProcess(tmp_path / "home", env=env).start()
    try:
        c = p.client()
        c.register("iris", iris_model[0])
        cli_json(p.url, p.key, "budgets", "set", "default", "--soft", "1", "--hard", "3")
        c.deploy(name="iris", model="iris", version=1, replicas=1)
        wait_for(lambda: c.deployment("iris")["status"] == "ready")
        wait_for(lambda: c.budgets()[0]["state"] == "hard_exceeded", timeout_s=30)
        with pytest.raises(ModelyardError) as refused:
            c.deploy(name="iris2", model="iris", version=1, replicas=1)
        assert refused.value.code == ErrorCode.BUDGET_EXCEEDED
        with p.http() as http:  # inference of the existing deployment continues
            assert http.post("/v2/models/iris/infer", json=ROW).status_code == 200
            resp = http.post("/api/v1/deployments", json={"name": "iris3", "model": "iris",
                                                          "version": 1})
            assert resp.status_code == 402 and resp.json()["error"]["code"] == "budget_exceeded"
            metrics = httpx.get(f"{p.url}/metrics", trust_env=False).text
        assert 'modelyard_budget_used_ratio{team="default"}' in metrics
        alerts = c.audit(action="budget.soft_limit")
        assert len(alerts) == 1 and alerts[0]["team"] == "default"
        costs = {r["key"]: r for r in c.costs("deployment", "1h")["rows"]}
        assert costs["iris"]["cpu_seconds"] >= 3 and costs["iris"]["cost"] >= 3
        assert costs["iris"]["cost"] == pytest.approx(costs["iris"]["cpu_seconds"], rel=1e-3)
    finally:
        p.stop()
        cleanup_replicas(p.home)
