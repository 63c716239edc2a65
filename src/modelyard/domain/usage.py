"""UsageRecord (one request through a gateway), aggregation keys and time windows.

Gateways emit one ``UsageRecord`` per request; the control plane stores them and
answers aggregates by team, deployment, key or model over a window (``since``).
Replica time (CPU- and GPU-seconds) is accrued per hour bucket by the metering
controller (``ResourceUsage``); ``accrue`` splits an interval over those buckets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.replicas import Allocation

BUCKET = timedelta(hours=1)
_SINCE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class GroupBy(StrEnum):
    """What usage is aggregated by."""

    TEAM = "team"
    DEPLOYMENT = "deployment"
    KEY = "key"
    MODEL = "model"
    PROJECT = "project"  # the ``project`` tag of the model version ("-" without one)


PROJECT_TAG = "project"
NO_PROJECT = "-"


@dataclass(frozen=True)
class UsageRecord:
    """One request through a gateway."""

    time: datetime
    team: str
    key_id: str
    deployment: str
    revision: int | None
    model: str
    status: int
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_version: int | None = None
    request_id: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (gateway → server batches)."""
        return {"time": self.time.isoformat(), "team": self.team, "key_id": self.key_id,
                "deployment": self.deployment, "revision": self.revision, "model": self.model,
                "status": self.status, "latency_s": self.latency_s,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "model_version": self.model_version, "request_id": self.request_id}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> UsageRecord:
        """Parse the form written by ``to_json``."""
        return cls(datetime.fromisoformat(d["time"]), str(d["team"]), str(d["key_id"]),
                   str(d["deployment"]), d.get("revision"), str(d["model"]), int(d["status"]),
                   float(d["latency_s"]), int(d.get("prompt_tokens", 0)),
                   int(d.get("completion_tokens", 0)), d.get("model_version"),
                   str(d.get("request_id", "")))


@dataclass(frozen=True)
class UsageTotals:
    """Aggregated requests and tokens of one group over a window."""

    key: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    latency_s_sum: float

    @property
    def mean_latency_s(self) -> float:
        """Mean latency over the group's requests (0 without requests)."""
        return self.latency_s_sum / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class ResourceUsage:
    """Replica time accrued in one hour bucket."""

    replica_id: str
    bucket: datetime
    team: str
    deployment: str
    revision: int
    model: str
    model_version: int | None
    gpu_model: str
    gpus: int
    cpu_seconds: float
    gpu_seconds: float
    accrued_until: datetime


@dataclass(frozen=True)
class Held:
    """What a replica holds while it runs: CPUs, GPUs (fractions allowed) and the GPU model."""

    cpus: float
    gpus: float
    gpu_model: str


def held(allocation: Allocation | None) -> Held:
    """A replica's resources from its scheduler allocation; one CPU without one.

    A GPU share is ``gpu_milli`` thousandths of each GPU in ``gpu_indexes``.
    """
    if allocation is None:
        return Held(1.0, 0.0, "")
    gpus = allocation.gpu_milli * len(allocation.gpu_indexes) / 1000
    cpus = allocation.cpu_milli / 1000 if allocation.cpu_milli > 0 else 1.0
    return Held(cpus, gpus, allocation.gpu_model if gpus else "")


def is_error(status: int) -> bool:
    """True for statuses counted as errors (5xx, and 0 = no answer)."""
    return status == 0 or status >= 500


def group_key(r: UsageRecord, by: GroupBy) -> str:
    """The group ``r`` belongs to."""
    if by == GroupBy.TEAM:
        return r.team
    if by == GroupBy.DEPLOYMENT:
        return r.deployment
    if by == GroupBy.KEY:
        return r.key_id
    if by == GroupBy.PROJECT:
        raise ValueError("project grouping needs the model versions' tags")
    return f"{r.model}@{r.model_version}" if r.model_version is not None else r.model


def aggregate(records: list[UsageRecord], by: GroupBy) -> list[UsageTotals]:
    """Totals per group, sorted by group key (the reference the SQL query must match)."""
    acc: dict[str, list[float]] = {}
    for r in records:
        a = acc.setdefault(group_key(r, by), [0, 0, 0, 0, 0.0])
        a[0] += 1
        a[1] += int(is_error(r.status))
        a[2] += r.prompt_tokens
        a[3] += r.completion_tokens
        a[4] += r.latency_s
    return [UsageTotals(k, int(a[0]), int(a[1]), int(a[2]), int(a[3]), a[4])
            for k, a in sorted(acc.items())]


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``24h``, ``30m``, ``90s``, ``2w`` before ``now``, or an ISO 8601 time."""
    m = _SINCE.fullmatch(text.strip())
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             f"since {text!r}: use 7d, 24h, 30m, 90s, 2w or an ISO time") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=now.tzinfo)


def bucket_of(at: datetime) -> datetime:
    """The start of the hour bucket holding ``at``."""
    return at.replace(minute=0, second=0, microsecond=0)


def accrue(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """Split ``[start, end)`` into (hour bucket, seconds) pieces; empty when end ≤ start."""
    out: list[tuple[datetime, float]] = []
    at = start
    while at < end:
        bucket = bucket_of(at)
        stop = min(end, bucket + BUCKET)
        out.append((bucket, (stop - at).total_seconds()))
        at = stop
    return out
