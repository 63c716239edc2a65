"""End to end: canary abort and promotion, blue-green switch and rollback, shadow, pinning.

Real ``modelyard up``, real sklearn replicas, continuous client traffic from threads. A
deliberately broken version (``tests.support.broken_models.FailingClassifier``, raising
for about half of all rows) is registered beside good ones.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from tests.support.broken_models import FailingClassifier
from tests.support.cli import cli_json, run_cli
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for

ROOT = Path(__file__).resolve().parents[2]
X, Y = load_iris(return_X_y=True)


@dataclass
class Answer:
    at: float
    status: int
    revision: str | None
    prediction: int | None
    row: int


@dataclass
class Load:
    """Client threads sending one-row OIP requests until stopped."""

    url: str
    key: str
    name: str
    threads: int = 4
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _run(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        with httpx.Client(base_url=self.url, trust_env=False, timeout=30,
                          headers={"Authorization": f"Bearer {self.key}"}) as http:
            while not self._stop.is_set():
                i = int(rng.integers(0, len(X)))
                body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64",
                                    "data": X[i].tolist()}]}
                try:
                    resp = http.post(f"/v2/models/{self.name}/infer", json=body)
                    pred = resp.json()["outputs"][0]["data"][0] if resp.status_code == 200 else None
                    self.answers.append(Answer(time.monotonic(), resp.status_code,
                                               resp.headers.get("x-modelyard-revision"), pred, i))
                except httpx.HTTPError:
                    self.answers.append(Answer(time.monotonic(), 0, None, None, i))

    def __enter__(self) -> Load:
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(10)

    def failed(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 200]

    def since(self, t: float) -> list[Answer]:
        return [a for a in self.answers if a.at >= t]


@pytest.fixture(scope="module")
def yard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    base = tmp_path_factory.mktemp("rollouts")
    good = LogisticRegression(max_iter=1000).fit(X, Y)
    other = LogisticRegression(max_iter=1000, C=0.5).fit(X, Y)
    broken = FailingClassifier(max_iter=1000).fit(X, Y)
    constant = DummyClassifier(strategy="constant", constant=0).fit(X, Y)
    paths = []
    for n, m in enumerate((good, other, broken, constant), start=1):
        paths.append(base / f"v{n}.joblib")
        joblib.dump(m, paths[-1])
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    p = PlatformProcess(base / "home", env={"PYTHONPATH": pythonpath,
                                            "MODELYARD_CONTROLLERS__DRAIN_DELAY_S": "1.0"})
    p.start()
    try:
        for path in paths:
            cli_json(p.url, p.key, "models", "register", "iris", "--path", str(path),
                     "--framework", "sklearn")
        yield p
    finally:
        p.stop()
        cleanup_replicas(p.home)


def deploy(p: PlatformProcess, name: str, version: int = 1, replicas: int = 2) -> None:
    cli_json(p.url, p.key, "deploy", name, "--model", "iris", "--version", str(version),
             "--replicas", str(replicas))


def rollout(p: PlatformProcess, name: str) -> dict[str, object]:
    r: dict[str, object] = p.client().rollout(name)
    return r


def state_is(p: PlatformProcess, name: str, *states: str) -> dict[str, object] | None:
    r = rollout(p, name)
    return r if r["state"] in states else None


def test_broken_canary_is_aborted_and_traffic_returns_to_stable(yard: PlatformProcess) -> None:
    deploy(yard, "bad-canary")
    with Load(yard.url, yard.key, "bad-canary") as load:
        time.sleep(1.5)
        yard.client().update("bad-canary", version=3, strategy="canary", steps=[5, 50, 100],
                             step_interval_s=2, min_requests=10)
        r = wait_for(lambda: state_is(yard, "bad-canary", "aborted", "succeeded"), 60)
        aborted_at = time.monotonic()
        time.sleep(2.0)
    assert r["state"] == "aborted", r
    total, failed = len(load.answers), len(load.failed())
    share = failed / total
    print(f"\nbroken canary: {failed} failed of {total} requests ({share:.2%})")
    assert failed > 0          # the canary really served the broken version
    assert share < 0.02
    late = [a for a in load.since(aborted_at + 0.5)]
    assert late and all(a.status == 200 and a.revision == "1" for a in late)
    events = {e["kind"]: e for e in r["history"]}
    failed_step = events["analysis_failed"]
    assert failed_step["figures"]["candidate_error_rate"] > 0.02
    assert failed_step["figures"]["candidate_requests"] >= 10
    assert "error rate" in r["reason"]
    assert yard.client().deployment("bad-canary")["revision"]["number"] == 1
    wait_for(lambda: {x["revision"] for x in yard.client().replicas("bad-canary")} == {1}, 30)
    shown = cli_json(yard.url, yard.key, "rollouts", "show", "bad-canary")
    assert shown["state"] == "aborted"
    yard.client().delete_deployment("bad-canary")


def test_good_canary_promotes_itself(yard: PlatformProcess) -> None:
    deploy(yard, "good-canary")
    with Load(yard.url, yard.key, "good-canary") as load:
        time.sleep(0.5)
        out = cli_json(yard.url, yard.key, "deploy", "good-canary", "--version", "2",
                       "--strategy", "canary", "--steps", "20,100", "--step-interval", "1s",
                       "--min-requests", "10", "--no-wait")
        assert out["revision"]["number"] == 2
        wait_for(lambda: state_is(yard, "good-canary", "progressing"), 30)
        with yard.http() as http:   # a pinned request reaches the candidate
            body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64",
                                "data": X[0].tolist()}]}
            pinned = http.post("/v2/models/good-canary/infer", json=body,
                               headers={"X-Modelyard-Revision": "2"})
            assert pinned.status_code == 200 and pinned.headers["x-modelyard-revision"] == "2"
            missing = http.post("/v2/models/good-canary/infer", json=body,
                                headers={"X-Modelyard-Revision": "9"})
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "revision_not_found"
        r = wait_for(lambda: state_is(yard, "good-canary", "succeeded", "aborted"), 60)
        done_at = time.monotonic()
        wait_for(lambda: {x["revision"] for x in yard.client().replicas("good-canary")} == {2}, 30)
        time.sleep(0.5)
        settled_at = time.monotonic()
        time.sleep(0.5)
    assert r["state"] == "succeeded", r
    assert load.failed() == []
    kinds = [e["kind"] for e in r["history"]]
    assert kinds[:2] == ["created", "candidate_ready"]
    assert "step_passed" in kinds and kinds[-1] == "completed"
    assert all(e["figures"]["candidate_requests"] >= 10 for e in r["history"]
               if e["kind"] in ("step_passed", "completed"))
    assert {a.revision for a in load.answers if a.at < done_at} >= {"1", "2"}
    assert {a.revision for a in load.since(settled_at)} == {"2"}
    metrics = httpx.get(f"{yard.url}/metrics", trust_env=False).text
    assert 'modelyard_gateway_revision_requests_total{deployment="good-canary",revision="2"' in metrics
    yard.client().delete_deployment("good-canary")


def test_blue_green_switch_and_rollback_lose_no_request(yard: PlatformProcess) -> None:
    deploy(yard, "bg")
    client = yard.client()
    with Load(yard.url, yard.key, "bg") as load:
        time.sleep(0.5)
        client.update("bg", version=2, strategy="blue-green", keep_old_s=60)
        wait_for(lambda: state_is(yard, "bg", "warm"), 60)
        switched_at = time.monotonic()
        time.sleep(1.0)
        after_switch = load.since(switched_at + 0.3)
        assert {a.revision for a in after_switch} == {"2"}, [
            (round(a.at - switched_at, 3), a.status, a.revision) for a in after_switch][:8]
        # instant switch-back: the old revision is still warm
        assert client.rollout_action("bg", "abort", "switch back")["state"] == "aborted"
        back_at = time.monotonic()
        time.sleep(1.0)
        after_back = load.since(back_at + 0.3)
        assert {a.revision for a in after_back} == {"1"}, [
            (round(a.at - back_at, 3), a.status, a.revision) for a in after_back][:8]
        # forward again, release the old revision at once, then roll back (rolling)
        client.update("bg", version=2, strategy="blue-green", keep_old_s=0)
        wait_for(lambda: state_is(yard, "bg", "succeeded"), 60)
        wait_for(lambda: {x["revision"] for x in client.replicas("bg")} == {3}, 30)
        out = cli_json(yard.url, yard.key, "deployments", "rollback", "bg")
        assert out["revision"]["number"] == 4 and out["revision"]["version"] == 1
        wait_for(lambda: {x["revision"] for x in client.replicas("bg")} == {4}, 30)
        rolled_at = time.monotonic()
        time.sleep(1.0)
    assert len(load.answers) > 200
    assert load.failed() == [], load.failed()[:5]
    assert {a.revision for a in load.since(rolled_at + 0.3)} == {"4"}
    history = cli_json(yard.url, yard.key, "deployments", "history", "bg")
    assert [r["number"] for r in history["revisions"]] == [1, 2, 3, 4]
    assert history["revisions"][3]["message"] == "rollback to revision 1"
    kinds = [e["kind"] for e in history["events"]]
    assert {"switched", "aborted", "warm_expired", "rollback", "completed"} <= set(kinds)
    client.delete_deployment("bg")


def test_shadow_never_changes_what_clients_receive(yard: PlatformProcess) -> None:
    deploy(yard, "shadowed", replicas=1)
    stable = joblib.load(yard.home.parent / "v1.joblib")
    client = yard.client()
    with Load(yard.url, yard.key, "shadowed", threads=2) as load:
        client.update("shadowed", version=4, strategy="shadow", shadow_percent=100)
        wait_for(lambda: state_is(yard, "shadowed", "progressing"), 60)
        r = wait_for(lambda: (lambda x: x if x["live"] and x["live"]["candidate_requests"] >= 50
                              else None)(rollout(yard, "shadowed")), 30)
    assert load.failed() == []
    assert {a.revision for a in load.answers} == {"1"}
    expected = stable.predict(X)
    assert all(a.prediction == expected[a.row] for a in load.answers)
    live = r["live"]
    assert live["candidate_error_rate"] == 0
    assert live["disagreement_rate"] is not None and live["disagreement_rate"] > 0.3
    assert live["candidate_p95_s"] is not None
    ended = client.rollout_action("shadowed", "abort", "seen enough")
    assert ended["state"] == "aborted"
    assert ended["history"][-1]["figures"]["disagreement_rate"] > 0.3
    client.delete_deployment("shadowed")


def test_promotion_gate_reads_the_latest_validation(yard: PlatformProcess) -> None:
    url, key = yard.url, yard.key
    cli_json(url, key, "deploy", "stage", "--model", "iris", "--version", "1", "--replicas", "0",
             "--env", "staging")
    blocked = run_cli(url, key, "deployments", "promote", "stage", "--to", "prod", check=False)
    assert blocked.returncode == 1 and "promotion_blocked" in blocked.stderr
    cli_json(url, key, "deployments", "validate", "stage", "1", "--failed", "--summary", "p95 slow")
    blocked = run_cli(url, key, "deployments", "promote", "stage", "--to", "prod", check=False)
    assert "promotion_blocked" in blocked.stderr and "p95 slow" in blocked.stderr
    out = cli_json(url, key, "deployments", "promote", "stage", "--to", "prod",
                   "--override-reason", "hotfix, approved by on-call")
    assert out["target_revision"] == 1 and "overridden" in out["gate"]
    assert yard.client().deployment("prod")["environment"] == "production"
    cli_json(url, key, "deployments", "validate", "stage", "1", "--passed", "--summary", "SLA met")
    out = cli_json(url, key, "deployments", "promote", "stage", "--to", "prod")
    assert out["target_revision"] == 2 and out["rollout_id"] and "passed" in out["gate"]
    kinds = [e["kind"] for e in cli_json(url, key, "deployments", "history", "prod")["events"]]
    assert kinds[0] == "gate_overridden" and "environment_promotion" in kinds
    staged = [e["kind"] for e in yard.client().history("stage")]
    assert staged.count("validation") == 2
    for name in ("stage", "prod"):
        yard.client().delete_deployment(name)
