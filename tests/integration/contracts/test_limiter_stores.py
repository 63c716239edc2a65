"""One contract suite for every LimiterStore: in memory, and Redis (shared by gateways)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from modelyard.gateway.limiter import LimiterStore
from modelyard.gateway.limiter_stores import MemoryLimiterStore, RedisLimiterStore

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[LimiterStore]:
    if request.param == "memory":
        s: LimiterStore = MemoryLimiterStore()
    else:
        if not redis_up():
            pytest.skip("no Redis at 127.0.0.1:6379")
        s = RedisLimiterStore(REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
    yield s
    await s.aclose()


async def test_requests_run_out_and_report(store: LimiterStore) -> None:
    verdicts = [await store.take("k", limit=3, window_s=60, cost=1) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert verdicts[-1].retry_after_s == pytest.approx(20, abs=1)
    assert 0 < verdicts[-1].reset_s <= 60
    assert (await store.take("other", limit=3, window_s=60, cost=1)).allowed  # keys are apart


async def test_forced_charge_goes_negative_and_blocks(store: LimiterStore) -> None:
    assert (await store.take("t", limit=100, window_s=60, cost=0)).allowed
    charged = await store.take("t", limit=100, window_s=60, cost=150, force=True)
    assert charged.allowed and charged.remaining == 0
    blocked = await store.take("t", limit=100, window_s=60, cost=0)
    assert not blocked.allowed and blocked.retry_after_s == pytest.approx(30, abs=1)


async def test_refills_over_the_window(store: LimiterStore) -> None:
    assert (await store.take("f", limit=1000, window_s=0.5, cost=1000)).allowed
    assert not (await store.take("f", limit=1000, window_s=0.5, cost=500)).allowed
    import asyncio

    await asyncio.sleep(0.3)
    assert (await store.take("f", limit=1000, window_s=0.5, cost=500)).allowed


async def test_redis_unreachable_fails_open() -> None:
    s = RedisLimiterStore("redis://127.0.0.1:1/0", timeout_s=0.2)
    assert (await s.take("x", limit=1, window_s=60, cost=5)).allowed
    await s.aclose()


async def test_take_many_is_all_or_none(store: LimiterStore) -> None:
    from modelyard.gateway.limiter import Take

    both = [Take("a", 5, 60, 1), Take("b", 1, 60, 1)]
    assert [v.allowed for v in await store.take_many(both)] == [True, True]
    refused = await store.take_many(both)  # b is empty: a is not spent either
    assert [v.allowed for v in refused] == [True, False]
    assert (await store.take("a", limit=5, window_s=60, cost=0)).remaining == 4
    forced = await store.take_many(both, force=True)
    assert all(v.allowed for v in forced)
    assert (await store.take("a", limit=5, window_s=60, cost=0)).remaining == 3


async def test_spend_charges_every_bucket_past_zero(store: LimiterStore) -> None:
    from modelyard.gateway.limiter import Take

    buckets = [Take("s1", 100, 60, 0), Take("s2", 50, 60, 0)]
    assert (await store.take("s1", limit=100, window_s=60, cost=0)).remaining == 100
    await store.spend(buckets, 80)
    assert (await store.take("s1", limit=100, window_s=60, cost=0)).remaining == 20
    blocked = await store.take("s2", limit=50, window_s=60, cost=0)  # 50 - 80 < 0: a new bucket went negative
    assert not blocked.allowed and blocked.retry_after_s == pytest.approx(36, abs=1)
