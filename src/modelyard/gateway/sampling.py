"""Sampling of tabular inputs and predictions for drift detection, off the request path.

For OIP v2 inference answered 200, a request is sampled with probability ``rate``; its
rows (the inputs joined side by side) and the first output's value per row become
``DriftSample``s in a bounded queue (full: dropped and counted). The meter's flush task
writes them through a ``SampleSink`` like usage records.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import orjson

from modelyard.domain.clock import Clock
from modelyard.domain.drift import DriftSample
from modelyard.observability.metrics import DRIFT_SAMPLES_DROPPED

logger = logging.getLogger(__name__)
NUMERIC = ("FP", "INT", "UINT", "BOOL")


class SampleSink(Protocol):
    """Where batches of drift samples go."""

    async def write_samples(self, samples: Sequence[DriftSample]) -> None:
        """Persist ``samples``; raise to have them kept for the next try."""
        ...


def _matrix(tensors: Any, *, flat_is_column: bool = False) -> np.ndarray[Any, Any] | None:
    if not isinstance(tensors, list) or not tensors:
        return None
    cols = []
    for t in tensors:
        if not isinstance(t, dict) or not str(t.get("datatype", "")).startswith(NUMERIC):
            return None
        arr = np.asarray(t.get("data"), dtype=np.float64).ravel()
        shape = t.get("shape") or [arr.size]
        # a 1-D input is one row of features; a 1-D output is one value per row
        rows = int(shape[0]) if (len(shape) > 1 or flat_is_column) and int(shape[0]) > 0 else 1
        if rows == 0 or arr.size % rows:
            return None
        cols.append(arr.reshape(rows, -1))
    if len({c.shape[0] for c in cols}) != 1:
        return None
    return np.hstack(cols)


def rows_of(body: bytes, answer: bytes | None) -> list[tuple[tuple[float, ...], float | None]]:
    """(features, prediction) per row of an OIP v2 request and its answer; [] if not tabular."""
    try:
        inputs = _matrix(orjson.loads(body).get("inputs"))
        outputs = (_matrix(orjson.loads(answer).get("outputs"), flat_is_column=True)
                   if answer else None)
    except (orjson.JSONDecodeError, AttributeError, ValueError, TypeError):
        return []
    if inputs is None:
        return []
    preds: list[float | None] = [None] * inputs.shape[0]
    if outputs is not None and outputs.shape[0] == inputs.shape[0]:
        preds = [float(v) for v in outputs[:, 0]]
    return [(tuple(float(x) for x in row), p) for row, p in zip(inputs, preds, strict=True)]


class Sampler:
    """A bounded queue of drift samples, filled at ``rate``."""

    def __init__(self, clock: Clock, *, rate: float, max_queue: int = 10_000,
                 batch_size: int = 500, seed: int | None = None) -> None:
        self.clock = clock
        self.rate = rate
        self.max_queue = max_queue
        self.batch_size = batch_size
        self._rng = random.Random(seed)
        self._queue: deque[DriftSample] = deque()
        self.dropped = 0

    def offer(self, deployment: str, revision: int | None, body: bytes,
              answer: bytes | None) -> None:
        """Maybe sample one answered request (cheap when not sampled)."""
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return
        now = self.clock.now()
        for features, pred in rows_of(body, answer):
            if len(self._queue) >= self.max_queue:
                self.dropped += 1
                DRIFT_SAMPLES_DROPPED.inc()
                return
            self._queue.append(DriftSample(now, deployment, revision, features, pred))

    def __len__(self) -> int:
        return len(self._queue)

    async def flush_once(self, sink: SampleSink) -> int:
        """Write one batch; a failed write keeps it."""
        if not self._queue:
            return 0
        batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
        try:
            await sink.write_samples(batch)
        except Exception:
            self._queue.extendleft(reversed(batch))
            raise
        return len(batch)
