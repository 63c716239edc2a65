"""Bad input gets a clear 4xx with a stable code, never a 500; tampered artifacts are refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.domain.errors import ModelyardError
from tests.support.platform import PlatformProcess, wait_for

ROW = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}


def code(resp: httpx.Response) -> str:
    assert resp.headers["content-type"].startswith("application/json"), resp.text
    c: str = resp.json()["error"]["code"]
    assert resp.json()["error"]["message"]
    return c


@pytest.fixture
def deployed(platform: PlatformProcess, iris_model: tuple[Path, LogisticRegression]) -> PlatformProcess:
    c = platform.client()
    c.register("iris", iris_model[0], framework="sklearn")
    c.deploy(name="iris", model="iris", version=1, replicas=1)
    c.deploy(name="empty", model="iris", version=1, replicas=0)
    wait_for(lambda: c.deployment("iris")["status"] == "ready")
    return platform


def test_inference_errors(deployed: PlatformProcess) -> None:
    with deployed.http() as http, httpx.Client(base_url=deployed.url, trust_env=False) as anon:
        assert http.post("/v2/models/iris/infer", json=ROW).status_code == 200
        cases = [
            (anon.post("/v2/models/iris/infer", json=ROW), 401, "unauthenticated"),
            (http.post("/v2/models/iris/infer", json=ROW,
                       headers={"Authorization": "Bearer my_00000000_nope"}), 401, "unauthenticated"),
            (http.post("/v2/models/iris/infer", content=b"{not json"), 400, "invalid_json"),
            (http.post("/v2/models/iris/infer", json={"inputs": "x"}), 422, "invalid_input"),
            (http.post("/v2/models/iris/infer", json={"inputs": [{"name": "x", "shape": [1, 3],
             "datatype": "FP64", "data": [1, 2, 3]}]}), 422, "invalid_input"),
            (http.post("/v2/models/iris/infer", json={"inputs": [{"name": "x", "shape": [1, 4],
             "datatype": "FP64", "data": ["a", "b", "c", "d"]}]}), 422, "invalid_input"),
            (http.post("/v2/models/nope/infer", json=ROW), 404, "model_not_found"),
            (http.post("/v2/models/iris/infer", content=b"x" * 70000), 413, "payload_too_large"),
            (http.post("/v1/models/iris:predict", json={"instances": "x"}), 422, "invalid_input"),
            (http.get("/v2/nothing"), 404, "route_not_found"),
            (http.delete("/v2/models/iris/infer"), 405, "method_not_allowed"),
            (http.post("/v1/chat/completions", json={"messages": []}), 400, "invalid_request"),
        ]
        for resp, status, expected in cases:
            assert (resp.status_code, code(resp)) == (status, expected), resp.text
        empty = http.post("/v2/models/empty/infer", json=ROW)
        assert (empty.status_code, code(empty)) == (503, "no_ready_replica")
        assert int(empty.headers["retry-after"]) >= 1
        ok = http.post("/v1/models/iris:predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
        assert ok.json() == {"predictions": [0]}


def test_api_errors(deployed: PlatformProcess) -> None:
    with deployed.http() as http, httpx.Client(base_url=deployed.url, trust_env=False) as anon:
        cases = [
            (anon.get("/api/v1/models"), 401, "unauthenticated"),
            (http.get("/api/v1/models/nope"), 404, "model_not_found"),
            (http.get("/api/v1/models/iris/versions/9"), 404, "version_not_found"),
            (http.get("/api/v1/deployments/nope"), 404, "deployment_not_found"),
            (http.post("/api/v1/deployments", content=b"{oops",
                       headers={"content-type": "application/json"}), 400, "invalid_json"),
            (http.post("/api/v1/deployments", json={"name": "x"}), 400, "invalid_request"),
            (http.post("/api/v1/deployments", json={"name": "Bad/Name", "model": "iris",
                                                    "version": 1}), 422, "invalid_name"),
            (http.post("/api/v1/deployments", json={"name": "iris", "model": "iris",
                                                    "version": 1}), 409, "already_exists"),
            (http.post("/api/v1/deployments", json={"name": "z", "model": "iris",
                                                    "alias": "nope"}), 404, "alias_not_found"),
            (http.post("/api/v1/deployments", json={"name": "z", "model": "iris", "version": 1,
                                                    "alias": "a"}), 400, "invalid_request"),
            (http.delete("/api/v1/models/iris/versions/1"), 409, "version_in_use"),
            (http.delete("/api/v1/models/iris"), 409, "version_in_use"),
            (http.post("/api/v1/models/iris/versions", json={"upload_id": "0" * 32}), 404,
             "upload_not_found"),
            (http.post("/api/v1/models/../versions", json={"upload_id": "x"}), 404,
             "route_not_found"),
            (http.put("/api/v1/models/iris/aliases/prod", json={"version": 7}), 404,
             "version_not_found"),
            (http.post("/api/v1/deployments", content=b"[" * 2_000_000,
                       headers={"content-type": "application/json"}), 413, "payload_too_large"),
            (http.get("/api/v1/replicas/nope/logs"), 404, "replica_not_found"),
            (http.get("/api/v1/nothing"), 404, "route_not_found"),
        ]
        for resp, status, expected in cases:
            assert (resp.status_code, code(resp)) == (status, expected), resp.text
        assert http.get("/api/v1/openapi.json").json()["info"]["title"] == "modelyard control plane"
        for open_path in ("/healthz", "/readyz", "/metrics"):
            assert anon.get(open_path).status_code == 200
        assert "modelyard_gateway_requests_total" in anon.get("/metrics").text


def test_tampered_artifact_is_refused(platform: PlatformProcess,
                                      iris_model: tuple[Path, LogisticRegression]) -> None:
    c = platform.client()
    v = c.register("iris", iris_model[0], framework="sklearn")
    c.deploy(name="good", model="iris", version=1, replicas=1)
    wait_for(lambda: c.deployment("good")["status"] == "ready")
    stored = platform.home / "artifacts" / "sha256" / v["digest"].split(":")[1] / "iris.joblib"
    stored.write_bytes(stored.read_bytes() + b"tampered")
    with pytest.raises(ModelyardError) as info:
        c.deploy(name="second", model="iris", version=1, replicas=1)
    assert info.value.code == "artifact_corrupt"
    # the running replica is unaffected; a restart of it refuses to load the tampered bytes
    replica = c.deployment("good")["replicas"][0]
    import os
    import signal

    os.kill(replica["pid"], signal.SIGKILL)
    failed = wait_for(lambda: [r for r in c.deployment("good")["replicas"]
                               if r["state"] == "crash_loop"])
    assert "artifact_corrupt" in failed[0]["reason"]
    assert c.deployment("good")["status"] == "crash_loop"


def test_engines_refused_at_deploy_time(deployed: PlatformProcess, tmp_path: Path) -> None:
    c = deployed.client()
    for engine in ("vllm", "tgi", "llamacpp", "trtllm"):
        with pytest.raises(ModelyardError) as info:
            c.deploy(name=f"e-{engine}", model="iris", version=1, engine=engine,
                     engine_settings={"tensor_parallel_size": 2})
        assert info.value.code == "engine_unavailable"
        assert "not installed" in info.value.message
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(64))
    assert c.register("tiny", gguf)["framework"] == "gguf"
    with pytest.raises(ModelyardError) as info:
        c.deploy(name="tiny", model="tiny", version=1)
    assert info.value.code == "unsupported_framework"
    assert not any(d["name"].startswith("e-") or d["name"] == "tiny" for d in c.deployments())
