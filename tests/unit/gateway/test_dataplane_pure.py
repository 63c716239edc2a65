"""Pure data-plane decisions: admission, priorities, token buckets, balancing, resilience."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from modelyard.domain.routes import Endpoint
from modelyard.gateway.admission import (
    Admit,
    DeploymentQueue,
    Enqueue,
    Priority,
    Reject,
    admit,
    forget,
    priority_of,
    release,
)
from modelyard.gateway.balancer import choose_affine, choose_p2c, prefix_hash
from modelyard.gateway.limiter import take
from modelyard.gateway.resilience import HealthBook, RetryBudget
from modelyard.gateway.tokens import StreamTally, usage_of

EPS = tuple(Endpoint(f"r{i}", f"http://127.0.0.1:{i}", 1) for i in range(4))


@pytest.mark.parametrize(("env", "header", "may_raise", "expected"), [
    ("production", None, False, Priority.PRODUCTION),
    ("staging", None, False, Priority.STAGING),
    ("dev", None, False, Priority.DEV),
    ("unknown", None, False, Priority.DEV),
    ("production", "batch", False, Priority.BATCH),       # lowering is always allowed
    ("dev", "production", False, Priority.DEV),           # raising needs the right
    ("dev", "production", True, Priority.PRODUCTION),
    ("staging", "nonsense", True, Priority.STAGING),
    ("staging", " Batch ", False, Priority.BATCH),
])
def test_priority_of(env: str, header: str | None, may_raise: bool, expected: Priority) -> None:
    assert priority_of(env, header, may_raise=may_raise) == expected


def test_admission_admits_queues_and_rejects() -> None:
    q = DeploymentQueue(service_s=0.1)
    kw = {"capacity": 2, "max_queue": 2, "now": 0.0, "max_wait_s": 10.0}
    assert admit(q, priority=Priority.DEV, **kw) == Admit()
    assert admit(q, priority=Priority.DEV, **kw) == Admit()
    first = admit(q, priority=Priority.BATCH, **kw)
    second = admit(q, priority=Priority.PRODUCTION, **kw)
    assert isinstance(first, Enqueue) and isinstance(second, Enqueue)
    full = admit(q, priority=Priority.PRODUCTION, **kw)
    assert isinstance(full, Reject) and full.reason == "queue full" and full.retry_after_s >= 1
    # a released slot goes to production first, though batch came earlier
    assert release(q, capacity=2, service_s=0.1, now=1.0) == [second.ticket]
    assert release(q, capacity=2, service_s=0.1, now=1.0) == [first.ticket]
    assert q.in_flight == 2 and not q.waiting


def test_admission_rejects_past_the_deadline_and_drops_expired_waiters() -> None:
    q = DeploymentQueue(service_s=2.0, in_flight=1)
    decision = admit(q, capacity=1, max_queue=10, priority=Priority.DEV, now=0.0, max_wait_s=1.0)
    assert isinstance(decision, Reject) and "deadline" in decision.reason
    q = DeploymentQueue(service_s=0.01, in_flight=1)
    waiting = admit(q, capacity=1, max_queue=10, priority=Priority.DEV, now=0.0, max_wait_s=1.0)
    assert isinstance(waiting, Enqueue)
    assert release(q, capacity=1, service_s=None, now=5.0) == []  # expired: dropped
    later = admit(q, capacity=1, max_queue=10, priority=Priority.DEV, now=5.0, max_wait_s=1.0)
    assert later == Admit()
    q2 = DeploymentQueue(in_flight=1)
    w = admit(q2, capacity=1, max_queue=10, priority=Priority.DEV, now=0.0, max_wait_s=9.0)
    assert isinstance(w, Enqueue)
    forget(q2, w.ticket)
    assert not q2.waiting


def test_token_bucket() -> None:
    v, b = take(None, limit=3, window_s=60, cost=1, now=0)
    assert (v.allowed, v.remaining, v.limit) == (True, 2, 3)
    v, b = take(b, limit=3, window_s=60, cost=1, now=0)
    v, b = take(b, limit=3, window_s=60, cost=1, now=0)
    v, b = take(b, limit=3, window_s=60, cost=1, now=0)
    assert not v.allowed and v.remaining == 0 and v.retry_after_s == pytest.approx(20)
    v, b = take(b, limit=3, window_s=60, cost=1, now=20)  # refilled one unit
    assert v.allowed
    v, b = take(b, limit=3, window_s=60, cost=10, now=20, force=True)  # tokens charged after
    assert v.allowed and b[0] == pytest.approx(-10)
    v, _ = take(b, limit=3, window_s=60, cost=0, now=21)
    assert not v.allowed and v.reset_s > 60


def test_p2c_prefers_the_less_loaded_and_skips_excluded() -> None:
    rng = random.Random(1)
    load = {"r0": 5, "r1": 5, "r2": 5, "r3": 0}
    picks = Counter(choose_p2c(EPS, load, (), rng).replica_id for _ in range(400))  # type: ignore[union-attr]
    assert picks["r3"] > 150 and sum(picks.values()) == 400
    assert choose_p2c(EPS, {}, {"r0", "r1", "r2"}, rng) == EPS[3]
    assert choose_p2c(EPS, {}, {"r0", "r1", "r2", "r3"}, rng) is None
    assert choose_p2c(EPS[:1], {}, (), rng) == EPS[0]
    assert choose_p2c(EPS[:1], {}, {"r0"}, rng) is None


def test_prefix_affinity_sticks_unless_much_busier() -> None:
    key = prefix_hash("You are a helpful assistant. Tell me", 16)
    first = choose_affine(EPS, {}, (), key, slack=4)
    assert first is not None
    assert all(choose_affine(EPS, {}, (), key, slack=4) == first for _ in range(5))
    busy = {first.replica_id: 10}
    assert choose_affine(EPS, busy, (), key, slack=4) != first
    assert choose_affine(EPS, {first.replica_id: 3}, (), key, slack=4) == first
    assert choose_affine(EPS, {}, {e.replica_id for e in EPS}, key, slack=4) is None


def test_health_book_ejects_and_readmits() -> None:
    book = HealthBook(eject_after=3, eject_s=10)
    assert not book.failed("r0", 0) and not book.failed("r0", 0)
    book.succeeded("r0")
    assert not book.failed("r0", 0) and not book.failed("r0", 0)
    assert book.failed("r0", 1)
    assert book.ejected(5) == {"r0"}
    assert book.ejected(11) == set()


def test_retry_budget_caps_retries() -> None:
    budget = RetryBudget(ratio=0.2, window_s=10, min_retries=2)
    for _ in range(10):
        budget.request(0)
    allowed = sum(budget.try_retry(0) for _ in range(20))
    assert allowed == 4  # 2 + 20% of 10
    for _ in range(10):
        budget.request(20)  # the old window is gone
    assert sum(budget.try_retry(20) for _ in range(20)) == 4


def test_usage_from_bodies_and_streams() -> None:
    assert usage_of(b'{"usage":{"prompt_tokens":3,"completion_tokens":4}}') == (3, 4)
    assert usage_of(b'{"usage":{"prompt_tokens":3}}') == (3, 0)
    assert usage_of(b'{"x":1}') == (0, 0)
    assert usage_of(b'"usage" not json') == (0, 0)
    tally = StreamTally()
    for chunk in (b'data: {"choices":[]}\n\n', b'data: {"choices":[],"usa',
                  b'ge":{"prompt_tokens":2,"completion_tokens":9}}\n\ndata: [DONE]\n\n'):
        tally.feed(chunk)
    assert tally.usage() == (2, 9)
    assert StreamTally().usage() == (0, 0)


def test_usage_of_reads_only_the_usage_object_and_falls_back_to_the_whole_answer() -> None:
    vectors = b'{"object":"list","data":[{"embedding":[0.1,0.2,{"x":1}]}],"model":"m",' \
              b'"usage":{"prompt_tokens":7,"total_tokens":7}}'
    assert usage_of(vectors) == (7, 0)
    nested = b'{"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":' \
             b'{"cached_tokens":1}},"id":"x"}'
    assert usage_of(nested) == (5, 2)  # nested object: the whole answer is parsed
    assert usage_of(b'{"choices":[{"text":"say \\"usage\\": {"}],"usage": {"prompt_tokens":1,'
                    b'"completion_tokens":2}}') == (1, 2)
    assert usage_of(b'{"usage":{"prompt_tokens":"3"}}') == (0, 0)
    assert usage_of(b'{"usage":{"prompt_tokens":3') == (0, 0)  # cut short
