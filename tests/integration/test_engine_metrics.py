"""Engine metrics are scraped from Ready engine replicas and re-exported under our names.

The engine side is a recorded vLLM exposition (tests/fixtures/vllm_metrics.txt) served over
real HTTP; no engine can run on this machine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from modelyard.controllers.engine_metrics import EngineMetricsScraper
from modelyard.domain.deployments import (
    Deployment,
    EngineSettings,
    Environment,
    Revision,
    RevisionSpec,
)
from modelyard.domain.ids import ReplicaId
from modelyard.domain.models import Model, ModelVersion
from modelyard.domain.replicas import Replica, ReplicaState
from modelyard.store.unit_of_work import Store

GOLDEN = (Path(__file__).parent.parent / "fixtures" / "vllm_metrics.txt").read_bytes()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = GOLDEN if self.path == "/metrics" else b"not found"
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def engine_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_scrape_and_rename(tmp_path: Path, engine_port: int) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    await asyncio.to_thread(store.migrate)
    spec = RevisionSpec("llm", 1, None, "transformers", "sha256:" + "a" * 64, "model",
                        engine="vllm", engine_settings=EngineSettings(tensor_parallel_size=2))
    async with store.uow() as uow:
        await uow.models.add(Model("llm", "t", "", T0, "me"))
        await uow.models.add_version(ModelVersion("llm", 1, spec.digest, "transformers", "other",
                                                  1, "model", T0, "me"))
        await uow.deployments.add(Deployment("chat", "t", Environment.DEV, 1, 1, T0, T0),
                                  Revision("chat", 1, spec, T0, "me", ""))
        await uow.replicas.add(Replica(ReplicaId("chat-1"), "chat", 1, ReplicaState.READY, T0,
                                       T0, port=engine_port))
    scraper = EngineMetricsScraper(store)
    try:
        assert await scraper.keys() == ["chat-1"]
        await scraper.reconcile("chat-1")
        text = scraper.render()
        labels = 'deployment="chat",replica="chat-1",revision="1"'
        assert f"modelyard_engine_requests_running{{{labels}}} 3.0" in text
        assert f"modelyard_engine_kv_cache_usage_ratio{{{labels}}} 0.42" in text
        assert ('modelyard_engine_time_to_first_token_seconds_bucket{deployment="chat",le="0.1",'
                'replica="chat-1",revision="1"} 9.0') in text
        assert f"modelyard_engine_time_to_first_token_seconds_count{{{labels}}} 10.0" in text
        assert "prompt_tokens" not in text and "vllm:" not in text
        async with store.uow() as uow:
            r = await uow.replicas.get("chat-1")
            assert r is not None
            await uow.replicas.save(replace(r, state=ReplicaState.FAILED))
        assert await scraper.keys() == []
        assert scraper.render() == ""
    finally:
        await scraper.aclose()
        await store.close()
