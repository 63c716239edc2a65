"""Prometheus metrics of a replica process, declared once.

A replica serves one model, so the metrics carry a ``model`` label only to tell models
apart when several batchers share a process (tests, benchmarks). Names are stable:
dashboards and the autoscaler read them. Engine metrics re-exported under modelyard
names live beside these (``ENGINE_METRIC_NAMES``) so both sets are declared in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)

BATCH_SIZE = Histogram(
    "modelyard_replica_batch_size",
    "Rows (or texts) per forward pass after dynamic batching.",
    ["model"],
    buckets=BATCH_SIZE_BUCKETS,
)
QUEUE_SECONDS = Histogram(
    "modelyard_replica_queue_seconds",
    "Time a request waited in the batcher's queue before its forward pass started.",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
COMPUTE_SECONDS = Histogram(
    "modelyard_replica_compute_seconds",
    "Wall time of one forward pass (a whole batch) in the worker thread.",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
REJECTED = Counter(
    "modelyard_replica_rejected_requests",
    "Requests refused because the batcher's queue was full (answered 429).",
    ["model"],
)
INSTANCES = Gauge(
    "modelyard_replica_model_instances",
    "Model instances in this replica whose forward passes may run at the same time.",
    ["model"],
)
COMPILED = Gauge(
    "modelyard_replica_model_compiled",
    "1 when this replica's forward passes run through a compiled graph (--compile), else 0.",
    ["model"],
)
CANCELLED = Counter(
    "modelyard_replica_cancelled_requests",
    "Requests dropped before compute because their client went away.",
    ["model"],
)

ENGINE_METRIC_NAMES: Mapping[str, str] = MappingProxyType({
    "ttft": "modelyard_engine_time_to_first_token_seconds",
    "tpot": "modelyard_engine_time_per_output_token_seconds",
    "running": "modelyard_engine_requests_running",
    "waiting": "modelyard_engine_requests_waiting",
    "kv_cache_usage": "modelyard_engine_kv_cache_usage_ratio",
})
"""Our names for the engine signals every adapter maps (key → exported family name)."""
