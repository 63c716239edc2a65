"""Every Prometheus metric of the control plane and the gateway, declared once.

The series the gateway updates on every request are ``HotCounter`` / ``HotHistogram``
(``hot_metrics``): same names and exposition, a fraction of the cost per update.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from modelyard.observability.hot_metrics import HotCounter, HotHistogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

RECONCILE_SECONDS = Histogram(
    "modelyard_reconcile_seconds", "Time of one reconcile step.", ["controller"],
    buckets=LATENCY_BUCKETS,
)
RECONCILE_ERRORS = Counter(
    "modelyard_reconcile_errors_total", "Reconcile steps that failed or were deferred.",
    ["controller"],
)
REPLICAS = Gauge(
    "modelyard_replicas", "Replicas by deployment and state.", ["deployment", "state"],
)
ROUTE_TABLE_VERSION = Gauge(
    "modelyard_route_table_version", "Version of the route table in use.", ["plane"],
)
GATEWAY_REQUESTS = HotCounter(
    "modelyard_gateway_requests_total", "Inference requests by deployment and status.",
    ["deployment", "status"],
)
GATEWAY_LATENCY = HotHistogram(
    "modelyard_gateway_request_seconds", "Inference latency seen by the gateway.",
    ["deployment"], buckets=LATENCY_BUCKETS,
)
GATEWAY_RETRIES = Counter(
    "modelyard_gateway_retries_total", "Requests sent again to another replica.", ["deployment"],
)
GATEWAY_ERRORS = HotCounter(
    "modelyard_gateway_errors_total", "Inference errors by deployment and code.",
    ["deployment", "code"],
)
GATEWAY_REVISION_REQUESTS = HotCounter(
    "modelyard_gateway_revision_requests_total",
    "Inference requests by deployment, revision and status (shadow copies included).",
    ["deployment", "revision", "status"],
)
GATEWAY_REVISION_LATENCY = HotHistogram(
    "modelyard_gateway_revision_request_seconds", "Inference latency per revision.",
    ["deployment", "revision"], buckets=LATENCY_BUCKETS,
)
GATEWAY_SHADOW = Counter(
    "modelyard_gateway_shadow_total",
    "Shadow copies by outcome: sent, disagreed, error, dropped, no_replica.",
    ["deployment", "revision", "outcome"],
)
ROLLOUT_STEPS = Counter(
    "modelyard_rollout_events_total", "Rollout transitions by deployment and event.",
    ["deployment", "event"],
)
USAGE_RECORDS = Counter(
    "modelyard_usage_records_total", "Usage records a gateway flushed to its sink.",
)
USAGE_DROPPED = Counter(
    "modelyard_usage_dropped_total", "Usage records dropped because the queue was full.",
)
USAGE_QUEUE = Gauge(
    "modelyard_usage_queue_length", "Usage records waiting in a gateway's queue.",
)
REPLICA_SECONDS = Counter(
    "modelyard_replica_seconds_total",
    "Replica time accrued by team and resource (cpu, or gpu by GPU model).",
    ["team", "resource", "gpu_model"],
)
BUDGET_USED_RATIO = Gauge(
    "modelyard_budget_used_ratio", "A team's spending this budget period over its hard limit.",
    ["team"],
)
BUDGET_SPENT = Gauge(
    "modelyard_budget_spent", "A team's spending this budget period (configured currency).",
    ["team"],
)
DRIFT_SAMPLES_DROPPED = Counter(
    "modelyard_drift_samples_dropped_total",
    "Drift samples dropped because the gateway's sample queue was full.",
)
DRIFT_PSI = Gauge(
    "modelyard_drift_psi", "Population stability index of a feature (or the prediction) "
    "in the latest window against the reference.", ["deployment", "feature"],
)
DRIFT_KS = Gauge(
    "modelyard_drift_ks_statistic", "Kolmogorov-Smirnov statistic of a feature (or the "
    "prediction) in the latest window against the reference.", ["deployment", "feature"],
)
DRIFT_DETECTED = Gauge(
    "modelyard_drift_detected", "1 when the latest window of a deployment drifted, else 0.",
    ["deployment"],
)
DRIFT_EVENTS = Counter(
    "modelyard_drift_events_total", "Drift events raised (a deployment started drifting).",
    ["deployment"],
)
GATEWAY_ROUTE_REQUESTS = HotCounter(
    "modelyard_gateway_route_requests_total",
    "Inference requests by route, deployment, revision and status.",
    ["route", "deployment", "revision", "status"],
)
GATEWAY_ROUTE_LATENCY = HotHistogram(
    "modelyard_gateway_route_request_seconds",
    "Inference latency by route, deployment and revision.", ["route", "deployment", "revision"],
    buckets=LATENCY_BUCKETS,
)
GATEWAY_QUEUE_SECONDS = Histogram(
    "modelyard_gateway_queue_seconds", "Time requests waited for admission.", ["deployment"],
    buckets=LATENCY_BUCKETS,
)
GATEWAY_QUEUE_LENGTH = Gauge(
    "modelyard_gateway_queue_length", "Requests waiting for admission.", ["deployment"],
)
GATEWAY_FIRST_BYTE = HotHistogram(
    "modelyard_gateway_first_byte_seconds",
    "Time to the replica's first response byte (first token when streaming).",
    ["route", "deployment", "revision"], buckets=LATENCY_BUCKETS,
)
GATEWAY_TOKENS = HotCounter(
    "modelyard_gateway_tokens_total", "LLM tokens by deployment, revision and direction (in, out).",
    ["deployment", "revision", "direction"],
)
GATEWAY_REJECTED = Counter(
    "modelyard_gateway_rejected_total",
    "Requests refused by admission or rate limits, by deployment and reason.",
    ["deployment", "reason"],
)
