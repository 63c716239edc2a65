"""Token counting of whole and streamed answers, and the meter's bounded queue and flush."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest

from modelyard.domain.clock import FakeClock
from modelyard.domain.routes import RouteTable
from modelyard.domain.usage import UsageRecord
from modelyard.gateway.metering import Meter
from modelyard.gateway.stream_tokens import StreamCounter
from modelyard.gateway.tokens import usage_of


class Source:
    def current(self) -> RouteTable:
        return RouteTable(1)


class Sink:
    def __init__(self, fail: int = 0) -> None:
        self.batches: list[list[UsageRecord]] = []
        self.fail = fail

    async def write(self, records: Sequence[UsageRecord]) -> None:
        if self.fail:
            self.fail -= 1
            raise OSError("store down")
        self.batches.append(list(records))


def _sse(obj: object) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _rec(i: int) -> UsageRecord:
    return UsageRecord(datetime(2026, 1, 1, tzinfo=UTC), "t", "k", "d", 1, "m", 200, 0.01,
                       request_id=str(i))


def test_tokens_of_whole_answers() -> None:
    assert usage_of(b'{"usage": {"prompt_tokens": 4, "completion_tokens": 9}}') == (4, 9)
    assert usage_of(b'{"usage": {"prompt_tokens": 4, "total_tokens": 4}}') == (4, 0)
    assert usage_of(b'{"outputs": []}') == (0, 0)
    assert usage_of(b"not json") == (0, 0)
    assert usage_of(b"") == (0, 0)


def test_stream_counter_prefers_the_usage_chunk_and_survives_split_events() -> None:
    stream = b"".join([_sse({"choices": [{"delta": {"role": "assistant"}}]}),
                       *[_sse({"choices": [{"delta": {"content": "w"}}]}) for _ in range(5)],
                       _sse({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 5}}),
                       b"data: [DONE]\n\n"])
    counter = StreamCounter()
    for i in range(0, len(stream), 7):  # events split across arbitrary chunk borders
        counter.feed(stream[i:i + 7])
    assert counter.content_chunks == 5
    assert counter.totals() == (7, 5)


def test_stream_counter_counts_content_chunks_without_usage() -> None:
    counter = StreamCounter()
    for text in ("a", "", "b", "c"):
        counter.feed(_sse({"choices": [{"text": text}]}))
    counter.feed(b"data: [DONE]\n\n")
    assert counter.totals() == (0, 3)


async def test_meter_flushes_batches_and_keeps_them_on_failure() -> None:
    sink = Sink(fail=1)
    meter = Meter(Source(), FakeClock(), sink=sink, batch_size=3, max_queue=5)
    for i in range(7):
        meter.emit(_rec(i))
    assert meter.dropped == 2  # bounded: the queue holds 5
    with pytest.raises(OSError):
        await meter.flush_once()
    assert await meter.flush_once() == 3
    await meter.stop()  # flushes the rest
    assert [[r.request_id for r in b] for b in sink.batches] == [["0", "1", "2"], ["3", "4"]]


async def test_meter_task_flushes_periodically() -> None:
    sink = Sink()
    meter = Meter(Source(), FakeClock(), sink=sink, flush_interval_s=0.01)
    meter.start()
    meter.emit(_rec(1))
    for _ in range(100):
        if sink.batches:
            break
        await asyncio.sleep(0.01)
    await meter.stop()
    assert [r.request_id for b in sink.batches for r in b] == ["1"]
