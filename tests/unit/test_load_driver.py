"""The validation driver's pure parts: durations, workloads and open-loop arrivals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from modelyard.cli.load import (
    ChatWorkload,
    DatasetWorkload,
    Driver,
    LoadSpec,
    OipWorkload,
    parse_duration,
)
from modelyard.domain.errors import ModelyardError


@pytest.mark.parametrize(("text", "seconds"), [("60s", 60), ("2m", 120), ("500ms", 0.5),
                                               ("1.5", 1.5), ("1h", 3600)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_refuses() -> None:
    with pytest.raises(ModelyardError):
        parse_duration("soon")


def test_workloads(tmp_path: Path) -> None:
    oip = OipWorkload("iris", [{"name": "x", "datatype": "FP64", "shape": [-1, 4]}]).call(0)
    assert oip.path == "/v2/models/iris/infer" and not oip.stream
    assert oip.body["inputs"][0]["shape"] == [1, 4] and len(oip.body["inputs"][0]["data"]) == 4
    chat = ChatWorkload("llm", input_len=5, output_len=3).call(2)
    assert chat.stream and chat.body["max_tokens"] == 3
    assert len(chat.body["messages"][0]["content"].split()) == 5
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n\n"
                    + json.dumps({"inputs": []}) + "\n")
    ds = DatasetWorkload.load("m", data)
    assert ds.call(0).path == "/v1/chat/completions" and ds.call(0).body["model"] == "m"
    assert ds.call(1).path == "/v2/models/m/infer" and ds.call(2).path == "/v1/chat/completions"


async def _infer(request: Request) -> Response:
    return JSONResponse({"outputs": []})


async def _chat(request: Request) -> Response:
    async def events():  # type: ignore[no-untyped-def]
        for word in ("a", "b", "c"):
            yield f'data: {json.dumps({"choices": [{"delta": {"content": word}}]})}\n\n'
        yield 'data: {"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 3}}\n\n'
        yield "data: [DONE]\n\n"
    return StreamingResponse(events(), media_type="text/event-stream")


async def test_driver_open_and_closed_loop_against_a_local_app() -> None:
    import httpx

    app = Starlette(routes=[Route("/v2/models/m/infer", _infer, methods=["POST"]),
                            Route("/v1/chat/completions", _chat, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    closed = Driver("http://t", "k", OipWorkload("m", []), LoadSpec(2, 0.2), transport=transport)
    chat = Driver("http://t", "k", ChatWorkload("m"), LoadSpec(4, 0.3, rate=50, revision=3),
                  transport=transport)
    for driver in (closed, chat):
        seen: list[int] = []
        elapsed = await driver.run(lambda t, s, seen=seen: seen.append(len(s)), every_s=0.05)
        assert elapsed >= driver.spec.duration_s and seen
        assert driver.samples and all(s.ok for s in driver.samples)
    assert all(s.output_tokens == 3 and s.ttft_s is not None and len(s.itls_s) == 2
               for s in chat.samples)
    assert 5 <= len(chat.samples) <= 40  # about 50/s for 0.3 s
