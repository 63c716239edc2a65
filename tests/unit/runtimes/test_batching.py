"""The Batcher with real forward functions, in-process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.batching import Batcher, BatchSettings, run_isolated
from modelyard.runtimes.protocol import BatchDefaults


class Doubler:
    """A forward that records its batches and may be held closed."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.delay_s = delay_s
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.gate.wait(5)
        if any(i < 0 for i in items):
            raise ModelyardError(ErrorCode.INVALID_INPUT, "negative")
        self.batches.append(list(items))
        time.sleep(self.delay_s)
        return [2 * i for i in items]


async def test_concurrent_requests_are_merged_and_answered_in_order() -> None:
    forward = Doubler(delay_s=0.01)
    async with Batcher(forward, BatchSettings(8, 5.0)) as batcher:
        results = await asyncio.gather(*(batcher.submit(i) for i in range(40)))
    assert results == [2 * i for i in range(40)]
    assert max(len(b) for b in forward.batches) == 8
    assert len(forward.batches) < 40


async def test_batch_size_one_never_merges() -> None:
    forward = Doubler()
    async with Batcher(forward, BatchSettings.from_flags(BatchDefaults(32, 2.0), 1, None)) as b:
        await asyncio.gather(*(b.submit(i) for i in range(10)))
    assert all(len(batch) == 1 for batch in forward.batches)


async def test_rows_count_towards_the_batch_size() -> None:
    forward = Doubler()
    forward.gate.clear()
    async with Batcher(forward, BatchSettings(4, 0.0), rows_of=lambda i: 3) as batcher:
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.01)  # the first batch is in flight, the rest queue up
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 4)]
        await asyncio.sleep(0.01)
        forward.gate.set()
        await asyncio.gather(first, *rest)
    assert all(len(b) == 1 for b in forward.batches)  # 3 + 3 > 4: never two together


async def test_full_queue_is_refused_with_a_retry_hint() -> None:
    forward = Doubler()
    forward.gate.clear()
    async with Batcher(forward, BatchSettings(1, 0.0, max_queue=2)) as batcher:
        running = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.01)
        queued = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
        await asyncio.sleep(0)
        with pytest.raises(ModelyardError) as info:
            await batcher.submit(4)
        assert info.value.code == ErrorCode.QUEUE_FULL and info.value.status == 429
        assert info.value.retry_after_s is not None and info.value.retry_after_s >= 1
        forward.gate.set()
        assert await asyncio.gather(running, *queued) == [2, 4, 6]


async def test_cancelled_requests_are_dropped_before_compute() -> None:
    forward = Doubler()
    forward.gate.clear()
    async with Batcher(forward, BatchSettings(8, 0.0)) as batcher:
        blocker = asyncio.ensure_future(batcher.submit(100))
        await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(batcher.submit(7))
        kept = asyncio.ensure_future(batcher.submit(8))
        await asyncio.sleep(0)
        gone.cancel()
        forward.gate.set()
        assert await kept == 16 and await blocker == 200
    assert [7] not in forward.batches and all(7 not in b for b in forward.batches)


async def test_one_bad_item_fails_alone() -> None:
    forward = Doubler()
    forward.gate.clear()
    async with Batcher(forward, BatchSettings(8, 0.0)) as batcher:
        blocker = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.01)
        items = [1, -1, 2]
        futures = [asyncio.ensure_future(batcher.submit(i)) for i in items]
        await asyncio.sleep(0)
        forward.gate.set()
        results = await asyncio.gather(blocker, *futures, return_exceptions=True)
    assert results[0] == 0 and results[1] == 2 and results[3] == 4
    assert isinstance(results[2], ModelyardError)


async def test_an_idle_batcher_does_not_wait_for_the_delay() -> None:
    async with Batcher(Doubler(), BatchSettings(64, 200.0)) as batcher:
        await batcher.submit(1)
        started = time.perf_counter()
        for i in range(5):
            await batcher.submit(i)
        assert (time.perf_counter() - started) / 5 < 0.05


def test_run_isolated_reports_a_wrong_result_count() -> None:
    results = run_isolated(lambda items: [1], [1, 2])
    assert all(isinstance(r, ModelyardError) for r in results)


@pytest.mark.parametrize(("size", "delay", "expected"), [
    (None, None, BatchSettings(32, 2.0)),
    (0, None, BatchSettings(1, 2.0)),
    (8, 0, BatchSettings(8, 0.0)),
])
def test_flags_override_runtime_defaults(size: int | None, delay: float | None,
                                         expected: BatchSettings) -> None:
    assert BatchSettings.from_flags(BatchDefaults(32, 2.0), size, delay) == expected


def test_negative_flags_are_refused() -> None:
    with pytest.raises(ModelyardError):
        BatchSettings.from_flags(BatchDefaults(), -1, None)


async def test_submit_before_start_is_refused() -> None:
    with pytest.raises(ModelyardError):
        await Batcher(Doubler(), BatchSettings()).submit(1)


async def test_instances_compute_at_the_same_time_and_each_answer_goes_home() -> None:
    first, second = Doubler(), Doubler()
    first.gate.clear()  # the first instance holds its batch until the second has computed one
    async with Batcher([first, second], BatchSettings(4, 0.0)) as batcher:
        assert batcher.instances == 2
        held = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.05)  # instance one is busy with [1]
        others = await asyncio.wait_for(asyncio.gather(*(batcher.submit(i) for i in range(2, 6))), 5)
        assert not held.done()  # answered by the second instance while the first still computes
        first.gate.set()
        assert await held == 2
    assert others == [4, 6, 8, 10]
    assert first.batches == [[1]] and sorted(i for b in second.batches for i in b) == [2, 3, 4, 5]


async def test_a_batcher_needs_a_forward() -> None:
    with pytest.raises(ValueError):
        Batcher([], BatchSettings(4, 0.0))


class Holder:
    """A forward that holds any batch with an item ≥ 1000 until ``release`` is set."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.batches: list[list[int]] = []

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        if any(i >= 1000 for i in items):
            self.release.wait(10)
        return [2 * i for i in items]


async def test_a_free_instance_waits_only_for_its_share_while_another_computes() -> None:
    release = threading.Event()
    first, second = Holder(release), Holder(release)
    async with Batcher([first, second], BatchSettings(16, 2000.0)) as batcher:
        assert await asyncio.gather(batcher.submit(1), batcher.submit(2)) == [2, 4]  # under load
        held = asyncio.gather(*(batcher.submit(i) for i in range(1000, 1008)))
        await asyncio.sleep(0.05)  # one instance computes those 8 rows and holds them
        started = time.perf_counter()
        trickle = []
        for i in range(10, 18):  # the other instance's share of 16 rows in the replica is 8
            trickle.append(asyncio.ensure_future(batcher.submit(i)))
            await asyncio.sleep(0.01)
        assert await asyncio.wait_for(asyncio.gather(*trickle), 5) == [2 * i for i in range(10, 18)]
        waited = time.perf_counter() - started
        release.set()
        await held
    assert waited < 1.0  # not the 2 s batch delay: the batch went once it held its share
    batches = first.batches + second.batches
    assert list(range(10, 18)) in batches and list(range(1000, 1008)) in batches


async def test_a_waiting_batch_goes_as_soon_as_the_other_instance_is_done() -> None:
    release = threading.Event()
    async with Batcher([Holder(release), Holder(release)], BatchSettings(16, 3000.0)) as batcher:
        await asyncio.gather(batcher.submit(1), batcher.submit(2))
        held = asyncio.gather(*(batcher.submit(i) for i in range(1000, 1006)))
        await asyncio.sleep(0.05)
        lone = asyncio.ensure_future(batcher.submit(7))  # its share is (6 + 1) / 2: it waits
        await asyncio.sleep(0.1)
        assert not lone.done()
        started = time.perf_counter()
        release.set()  # the other instance ends: the load is this one request, so it goes
        assert await asyncio.wait_for(lone, 5) == 14
        assert time.perf_counter() - started < 1.0
        await held
