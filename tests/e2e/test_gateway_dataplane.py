"""The gateway as a data plane, on real processes: ``modelyard server``, gateways alone,
and a real upstream (``tests.support.upstream``) behind external-endpoint deployments.

Covers: external endpoints with the upstream key from the gateway's environment, request
ids, header limits, overload (429 ``overloaded`` + Retry-After while admitted requests
keep their latency), priorities, passive ejection, the retry budget, a client disconnect
cancelling the upstream stream, and rate limits (requests and tokens per minute, in
Redis shared by two gateways).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.cli import cli_json
from tests.support.platform import PlatformProcess, free_port, wait_for

pytestmark = pytest.mark.slow
CHAT = "/v1/chat/completions"
UPSTREAM_SECRET = "sekret-upstream-value"


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("dataplane")
    port, closer = free_port(), free_port()
    log = (root / "upstream.log").open("ab")
    up = subprocess.Popen([sys.executable, "-m", "tests.support.upstream", str(port), str(closer)],
                          stdout=log, stderr=subprocess.STDOUT)
    started: list[PlatformProcess] = []
    try:
        up_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get_ok(up_url + "/health"), timeout_s=20)
        env = {"UPSTREAM_SECRET": UPSTREAM_SECRET}
        server = PlatformProcess(root / "home", "server").start()
        started.append(server)
        key = server.key
        cli_json(server.url, key, "deploy", "ext", "--endpoint", f"{up_url}/a",
                 "--upstream-key-env", "UPSTREAM_SECRET")
        cli_json(server.url, key, "deploy", "slowext", "--endpoint", f"{up_url}/b",
                 "--read-timeout", "0.3")
        admin = server.client()
        admin.deploy_external(name="pair", endpoints=[f"{up_url}/a", f"{up_url}/b"])
        admin.deploy_external(name="dying", endpoints=[f"http://127.0.0.1:{closer}/a",
                                                       f"http://127.0.0.1:{closer}/b"])
        admin.deploy_external(name="limited", endpoints=[up_url])
        g = "MODELYARD_GATEWAY__"
        gw = PlatformProcess(root / "home", "gateway", extra=["--server", server.url], env={
            **env, f"{g}MAX_CONCURRENCY_PER_REPLICA": "1", f"{g}MAX_QUEUE": "3",
            f"{g}MAX_QUEUE_WAIT_S": "5", f"{g}EJECT_AFTER_FAILURES": "2", f"{g}EJECT_S": "60",
            f"{g}MAX_HEADER_COUNT": "60"}).start()
        started.append(gw)
        limited: list[PlatformProcess] = []
        if redis_up():
            for _ in range(2):
                p = PlatformProcess(root / "home", "gateway", extra=["--server", server.url], env={
                    f"{g}LIMITER_URL": "redis://127.0.0.1:6379/0",
                    f"{g}KEY_REQUESTS_PER_MINUTE": "6", f"{g}KEY_TOKENS_PER_MINUTE": "1000"}).start()
                started.append(p)
                limited.append(p)
        auth = {"Authorization": f"Bearer {key}"}
        for name in ("ext", "pair", "limited", "slowext"):  # healthy endpoints reached the route table
            wait_for(lambda n=name: httpx.post(gw.url + CHAT, json={"model": n}, headers=auth,
                                               trust_env=False).status_code == 200, timeout_s=20)
        yield {"server": server, "gw": gw, "limited": limited, "up": up_url, "auth": auth}
    finally:
        for p in reversed(started):
            p.stop()
        up.terminate()
        up.wait(10)
        log.close()


def _get_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def test_external_endpoint_gets_the_upstream_key_and_request_ids(plane: dict[str, Any]) -> None:
    gw = plane["gw"]
    with httpx.Client(base_url=gw.url, headers=plane["auth"], trust_env=False) as http:
        r = http.post(CHAT, json={"model": "ext"}, headers={"X-Request-Id": "req-abc.1"})
        assert r.status_code == 200, r.text
        echo = r.json()["echo"]
        assert echo["authorization"] == f"Bearer {UPSTREAM_SECRET}"  # never the caller's key
        assert echo["prefix"] == "/a"
        assert echo["request_id"] == "req-abc.1" == r.headers["x-request-id"]
        r = http.post(CHAT, json={"model": "ext"})
        rid = r.headers["x-request-id"]
        assert len(rid) == 32 and r.json()["echo"]["request_id"] == rid
        models = http.get("/v1/models").json()["data"]
        assert {"ext", "pair", "limited"} <= {m["id"] for m in models}
    listed = plane["server"].client().external_deployments()
    assert {e["name"]: e["healthy_endpoints"] for e in listed}["ext"] == [plane["up"] + "/a"]
    assert UPSTREAM_SECRET not in (gw.home / f"gateway-{gw.port}.log").read_text()


def test_read_timeout_per_route(plane: dict[str, Any]) -> None:
    with httpx.Client(base_url=plane["gw"].url, headers=plane["auth"], trust_env=False) as http:
        t0 = time.monotonic()
        r = http.post(CHAT, json={"model": "slowext", "delay_ms": 2000})
        assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"
        assert time.monotonic() - t0 < 1.5  # the route's 0.3 s, not the gateway's 60 s
        assert http.post(CHAT, json={"model": "slowext", "delay_ms": 10}).status_code == 200


def test_header_limits(plane: dict[str, Any]) -> None:
    headers = {**plane["auth"], **{f"x-h{i}": "v" for i in range(80)}}
    r = httpx.post(plane["gw"].url + CHAT, json={"model": "ext"}, headers=headers, trust_env=False)
    assert r.status_code == 431 and r.json()["error"]["code"] == "headers_too_large"


def _timed_post(url: str, body: dict[str, Any], headers: dict[str, str],
                out: list[tuple[float, httpx.Response]]) -> None:
    t0 = time.monotonic()
    r = httpx.post(url, json=body, headers=headers, trust_env=False, timeout=30)
    out.append((time.monotonic() - t0, r))


def test_overload_answers_429_at_once_and_admitted_requests_keep_their_latency(
        plane: dict[str, Any]) -> None:
    results: list[tuple[float, httpx.Response]] = []
    threads = [threading.Thread(target=_timed_post, args=(
        plane["gw"].url + CHAT, {"model": "ext", "delay_ms": 300}, plane["auth"], results))
        for _ in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    served = [(s, r) for s, r in results if r.status_code == 200]
    refused = [(s, r) for s, r in results if r.status_code == 429]
    assert len(served) + len(refused) == 9
    assert 1 <= len(served) <= 4 and len(refused) >= 5  # 1 running + at most 3 queued
    for seconds, r in refused:
        assert r.json()["error"]["code"] == "overloaded"
        assert int(r.headers["retry-after"]) >= 1
        assert seconds < 1.0
    assert max(s for s, _ in served) < 4 * 0.3 + 1.5  # bounded by its place in the queue


def test_production_is_served_before_batch(plane: dict[str, Any]) -> None:
    url, auth = plane["gw"].url + CHAT, plane["auth"]
    results: list[tuple[float, httpx.Response]] = []

    def send(priority: str, delay_ms: int) -> threading.Thread:
        t = threading.Thread(target=_timed_post, args=(
            url, {"model": "ext", "delay_ms": delay_ms},
            {**auth, "X-Modelyard-Priority": priority}, results))
        t.start()
        return t

    threads = [send("production", 700)]
    time.sleep(0.2)
    threads += [send("batch", 50), send("batch", 50)]
    time.sleep(0.2)
    threads.append(send("production", 50))
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for _, r in results), [r.text for _, r in results]
    started = sorted(results, key=lambda sr: sr[1].json()["echo"]["started"])
    order = [r.request.headers["x-modelyard-priority"] for _, r in started]
    assert order == ["production", "production", "batch", "batch"]


def test_failing_endpoint_is_ejected(plane: dict[str, Any]) -> None:
    with httpx.Client(base_url=plane["gw"].url, headers=plane["auth"], trust_env=False) as http:
        statuses = [http.post(CHAT, json={"model": "pair", "fail_on": "/b"}).status_code
                    for _ in range(14)]
    assert statuses.count(500) <= 2  # ejected after 2 consecutive failures
    assert statuses[-8:] == [200] * 8


def test_retry_budget_bounds_retries_when_every_replica_dies(plane: dict[str, Any]) -> None:
    gw = plane["gw"]
    with httpx.Client(base_url=gw.url, headers=plane["auth"], trust_env=False) as http:
        codes = [http.post(CHAT, json={"model": "dying"}).json()["error"]["code"]
                 for _ in range(20)]
        metrics = http.get("/metrics").text
    assert set(codes) <= {"upstream_error", "no_ready_replica"}
    line = next(li for li in metrics.splitlines()
                if li.startswith('modelyard_gateway_retries_total{deployment="dying"}'))
    retries = float(line.split()[-1])
    assert 1 <= retries <= 3 + 0.2 * 20  # min_retries + 20% of the requests


def test_client_disconnect_cancels_the_upstream_stream(plane: dict[str, Any]) -> None:
    before = httpx.get(plane["up"] + "/stats", trust_env=False).json()
    with httpx.Client(base_url=plane["gw"].url, headers=plane["auth"], trust_env=False) as http, \
            http.stream("POST", CHAT, json={"model": "ext", "stream": True, "chunk_ms": 100}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        t0 = time.monotonic()
        first = next(r.iter_raw())
        assert b"data:" in first and time.monotonic() - t0 < 0.5  # not buffered
    wait_for(lambda: httpx.get(plane["up"] + "/stats", trust_env=False).json()[
        "streams_cancelled"] > before["streams_cancelled"], timeout_s=5)
    after = httpx.get(plane["up"] + "/stats", trust_env=False).json()
    assert after["streams_finished"] == before["streams_finished"]


def test_stream_passes_through_whole_with_usage(plane: dict[str, Any]) -> None:
    with httpx.Client(base_url=plane["gw"].url, headers=plane["auth"], trust_env=False) as http:
        r = http.post(CHAT, json={"model": "ext", "stream": True, "chunk_ms": 1})
        assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
        assert r.text.count("data:") == 22


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_rate_limits_are_shared_through_redis(plane: dict[str, Any]) -> None:
    g1, g2 = plane["limited"]
    admin = plane["server"].client()
    key = admin.create_key(name=f"rl-{time.time_ns()}", team="default", role="developer")["key"]
    auth = {"Authorization": f"Bearer {key}"}
    # both gateways know the new key (404: resolution comes before the limits)
    wait_for(lambda: all(httpx.post(g.url + CHAT, json={"model": "nope"}, headers=auth,
                                    trust_env=False).status_code == 404 for g in (g1, g2)))
    remaining = []
    for i in range(6):  # alternate gateways: one bucket in Redis
        g = (g1, g2)[i % 2]
        r = httpx.post(g.url + CHAT, json={"model": "limited"}, headers=auth, trust_env=False)
        assert r.status_code == 200, r.text
        assert r.headers["x-ratelimit-limit"] == "6"
        remaining.append(int(r.headers["x-ratelimit-remaining"]))
    assert remaining == [5, 4, 3, 2, 1, 0]
    r = httpx.post(g2.url + CHAT, json={"model": "limited"}, headers=auth, trust_env=False)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1 and r.headers["x-ratelimit-remaining"] == "0"


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_tokens_per_minute_are_charged_after_the_answer(plane: dict[str, Any]) -> None:
    g1, g2 = plane["limited"]
    admin = plane["server"].client()
    key = admin.create_key(name=f"tk-{time.time_ns()}", team="default", role="developer")["key"]
    auth = {"Authorization": f"Bearer {key}"}
    wait_for(lambda: all(httpx.post(g.url + CHAT, json={"model": "nope"}, headers=auth,
                                    trust_env=False).status_code == 404 for g in (g1, g2)))
    r = httpx.post(g1.url + CHAT, json={"model": "limited", "tokens": 2000}, headers=auth,
                   trust_env=False)
    assert r.status_code == 200  # admitted: tokens are only known after the answer
    r = httpx.post(g2.url + CHAT, json={"model": "limited"}, headers=auth, trust_env=False)
    assert r.status_code == 429 and "tokens" in r.json()["error"]["message"]


def test_access_log_lines_carry_no_secrets(plane: dict[str, Any]) -> None:
    gw = plane["gw"]
    time.sleep(0.4)  # lines are written in batches
    text = (gw.home / f"gateway-{gw.port}.log").read_text()
    lines = [li for li in text.splitlines() if '"logger":"modelyard.access"' in li]
    assert lines and '"request_id":"req-abc.1"' in text
    assert plane["server"].key not in text and UPSTREAM_SECRET not in text




def test_graceful_shutdown_drains_in_flight_requests(plane: dict[str, Any]) -> None:
    server = plane["server"]
    gw = PlatformProcess(server.home, "gateway", extra=["--server", server.url]).start()
    try:
        wait_for(lambda: httpx.post(gw.url + CHAT, json={"model": "ext"}, headers=plane["auth"],
                                    trust_env=False).status_code == 200)
        results: list[tuple[float, httpx.Response]] = []
        t = threading.Thread(target=_timed_post, args=(
            gw.url + CHAT, {"model": "ext", "delay_ms": 800}, plane["auth"], results))
        t.start()
        time.sleep(0.3)
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGTERM)
        t.join()
        assert results[0][1].status_code == 200  # finished although the gateway was stopping
        assert gw.proc.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    finally:
        gw.stop()
