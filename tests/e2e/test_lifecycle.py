"""End to end: register, deploy, predict, survive crashes and restarts, delete cleanly."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tests.support.cli import cli_json, run_cli
from tests.support.platform import PlatformProcess, replica_pids, wait_for


def infer(http: httpx.Client, rows: np.ndarray, name: str = "iris") -> list[int]:
    body = {"inputs": [{"name": "input-0", "shape": list(rows.shape), "datatype": "FP64",
                        "data": rows.ravel().tolist()}]}
    resp = http.post(f"/v2/models/{name}/infer", json=body)
    assert resp.status_code == 200, resp.text
    out: list[int] = resp.json()["outputs"][0]["data"]
    return out


def ready_replicas(p: PlatformProcess) -> list[dict[str, object]]:
    d = p.client().deployment("iris")
    return [r for r in d["replicas"] if r["state"] == "ready"]


def test_full_lifecycle(platform: PlatformProcess,
                        iris_model: tuple[Path, LogisticRegression]) -> None:
    path, model = iris_model
    url, key = platform.url, platform.key
    v = cli_json(url, key, "models", "register", "iris", "--path", str(path),
                 "--framework", "sklearn", "--tag", "team=ml")
    assert v["version"] == 1 and v["digest"].startswith("sha256:") and v["tags"] == {"team": "ml"}
    assert cli_json(url, key, "models", "alias", "iris", "production", "1")["version"] == 1
    d = cli_json(url, key, "deploy", "iris", "--model", "iris", "--alias", "production",
                 "--replicas", "2", "--env", "staging")
    assert d["status"] == "ready" and d["environment"] == "staging"
    shown = cli_json(url, key, "deployments", "show", "iris")
    assert {r["state"] for r in shown["replicas"]} == {"ready"}
    node = cli_json(url, key, "nodes", "list")[0]["name"]
    for r in shown["replicas"]:
        assert r["pid"] > 0 and r["port"] > 0 and r["node"] == node
    pids = {r["pid"] for r in shown["replicas"]}
    assert replica_pids(platform.home) == pids

    x, _ = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    with platform.http() as http:
        rows = x[rng.integers(0, len(x), 100)]
        got = [infer(http, rows[i:i + 1])[0] for i in range(100)]
        assert got == model.predict(rows).tolist()

        # kill -9 one replica: requests keep succeeding and it comes back Ready
        victim = shown["replicas"][0]
        os.kill(victim["pid"], signal.SIGKILL)
        for i in range(50):
            assert infer(http, x[i:i + 1]) == model.predict(x[i:i + 1]).tolist()
        def recovered() -> bool:
            ready = ready_replicas(platform)  # one snapshot: count and pids must agree
            return len(ready) == 2 and {r["pid"] for r in ready} != pids

        wait_for(recovered)
        after = {r["id"]: r for r in platform.client().deployment("iris")["replicas"]}
        assert after[victim["id"]]["restart_count"] == 1
        assert after[victim["id"]]["pid"] != victim["pid"]
    pids = {r["pid"] for r in ready_replicas(platform)}

    # restart the control plane (graceful, then a crash): replicas are adopted, not doubled
    for sig in (signal.SIGTERM, signal.SIGKILL):
        platform.stop(sig)
        assert replica_pids(platform.home) == pids
        platform.start()
        wait_for(lambda: len(ready_replicas(platform)) == 2)
        assert {r["pid"] for r in ready_replicas(platform)} == pids
        assert replica_pids(platform.home) == pids
        with platform.http() as http:
            assert infer(http, x[:3]) == model.predict(x[:3]).tolist()

    # scale down and up
    cli_json(url, key, "deployments", "scale", "iris", "1")
    wait_for(lambda: len(replica_pids(platform.home)) == 1)
    cli_json(url, key, "deployments", "scale", "iris", "2")
    wait_for(lambda: len(ready_replicas(platform)) == 2)

    # a deployed version cannot be deleted; the deployment deletes cleanly
    refused = run_cli(url, key, "models", "delete", "iris", "--version", "1", check=False)
    assert refused.returncode == 1 and "version_in_use" in refused.stderr
    assert cli_json(url, key, "deployments", "delete", "iris")["gone"] is True
    assert replica_pids(platform.home) == set()
    cli_json(url, key, "models", "delete", "iris", "--version", "1")
    assert cli_json(url, key, "models", "list") == [] or all(
        m["latest_version"] is None for m in cli_json(url, key, "models", "list"))
