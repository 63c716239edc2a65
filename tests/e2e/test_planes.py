"""Separate control plane and gateway; the gateway serves through a control-plane outage.

Also runs the whole platform on PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from sklearn.linear_model import LogisticRegression

from tests.support.databases import fresh_postgres
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for

ROW = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [6.7, 3.0, 5.2, 2.3]}]}


def test_gateway_survives_control_plane_outage(
        tmp_path: Path, iris_model: tuple[Path, LogisticRegression]) -> None:
    home = tmp_path / "home"
    server = PlatformProcess(home, "server").start()
    gateway = PlatformProcess(tmp_path / "gw", "gateway", extra=["--server", server.url],
                              env={"MODELYARD_API_KEY": server.key})
    try:
        gateway.start()
        c = server.client()
        c.register("iris", iris_model[0])
        c.deploy(name="iris", model="iris", version=1, replicas=2)
        wait_for(lambda: c.deployment("iris")["status"] == "ready")
        with gateway.http(server.key) as http:
            wait_for(lambda: http.post("/v2/models/iris/infer", json=ROW).status_code == 200)
            assert http.post("/v2/models/iris/infer", json=ROW).json()["outputs"][0]["data"] == [2]
            server.stop(signal.SIGKILL)
            for _ in range(20):
                resp = http.post("/v2/models/iris/infer", json=ROW)
                assert resp.status_code == 200, resp.text
            assert http.get("/readyz").status_code == 200
            # the gateway alone has no control plane API
            assert http.get("/api/v1/models").status_code == 404
        server.start()
        with httpx.Client(base_url=gateway.url, trust_env=False) as anon:
            assert anon.post("/v2/models/iris/infer", json=ROW).status_code == 401
        server.client().delete_deployment("iris")
        wait_for(lambda: not any(d["name"] == "iris" for d in server.client().deployments()))
    finally:
        gateway.stop()
        server.stop()
        cleanup_replicas(home)


@pytest.mark.postgres
def test_platform_on_postgres(tmp_path: Path, iris_model: tuple[Path, LogisticRegression]) -> None:
    with fresh_postgres() as url:
        home = tmp_path / "home"
        p = PlatformProcess(home, env={"DATABASE_URL": url}).start()
        try:
            c = p.client()
            assert c.register("iris", iris_model[0])["version"] == 1
            c.deploy(name="iris", model="iris", version=1, replicas=1)
            wait_for(lambda: c.deployment("iris")["status"] == "ready")
            with p.http() as http:
                assert http.post("/v2/models/iris/infer", json=ROW).status_code == 200
            assert not (home / "modelyard.db").exists()
            p.stop()
            p.start()
            wait_for(lambda: p.client().deployment("iris")["status"] == "ready")
            p.client().delete_deployment("iris")
            wait_for(lambda: p.client().deployments() == [])
        finally:
            p.stop()
            cleanup_replicas(home)
