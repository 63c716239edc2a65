"""A request whose client went away is dropped before its forward pass (a real replica)."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.runtimes.conftest import Replica, launch, serve_all

SLOW = 7.0  # a row starting with this value holds the model for a while


@pytest.fixture(scope="module")
def slow_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replica, Path]]:
    """A custom model that records every row it computes; one instance, no merging."""
    folder = tmp_path_factory.mktemp("slow")
    seen = folder.parent / "slow-rows.txt"
    (folder / "model.py").write_text(textwrap.dedent(f'''
        import time

        class Model:
            def predict(self, batch):
                with open({str(seen)!r}, "a") as out:
                    for row in batch:
                        out.write(" ".join(str(float(v)) for v in row) + "\\n")
                if batch[0][0] == {SLOW}:
                    time.sleep(1.5)
                return {{"predict": batch.sum(axis=1)}}
    '''))
    logs = tmp_path_factory.mktemp("slow-logs")
    started = {"slow": launch("slow", folder, "custom", logs, "--max-batch-size", "1",
                              "--instances", "1")}
    for ready in serve_all(started, 90):
        yield ready["slow"], seen


def infer(value: float) -> dict[str, object]:
    return {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32",
                        "data": [value, 1.0]}]}


def cancelled_total(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("modelyard_replica_cancelled_requests_total{"))


@pytest.mark.asyncio
async def test_a_queued_request_whose_client_left_is_never_computed(
        slow_replica: tuple[Replica, Path]) -> None:
    replica, seen = slow_replica
    before = cancelled_total(replica.url)
    url = f"{replica.url}/v2/models/slow/infer"
    async with httpx.AsyncClient(timeout=10) as client:
        holding = asyncio.ensure_future(client.post(url, json=infer(SLOW)))
        await asyncio.sleep(0.3)  # the slow row is in its forward pass now
        async with httpx.AsyncClient(timeout=0.3) as impatient:
            with pytest.raises(httpx.ReadTimeout):  # gives up and closes its connection
                await impatient.post(url, json=infer(42.0))
        assert (await holding).status_code == 200
        after = await client.post(url, json=infer(5.0))  # still serving
        assert after.status_code == 200
        assert after.json()["outputs"][0]["data"] == [6.0]
    rows = seen.read_text().split("\n")
    assert "7.0 1.0" in rows and "5.0 1.0" in rows
    assert "42.0 1.0" not in rows  # dropped from the queue, never computed
    deadline = time.monotonic() + 5
    while cancelled_total(replica.url) < before + 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert cancelled_total(replica.url) == before + 1
