"""Rollout options shared by ``deploy`` (updates), ``rollback`` and ``promote``, and waiting."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import click

from modelyard.cli.client import Client
from modelyard.domain.errors import ErrorCode, ModelyardError

_UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``1.5s``, ``500ms``, ``2m`` or ``1h``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise click.BadParameter(f"not a duration: {text!r} (try 60s, 2m, 500ms)")
    return float(m.group(1)) * _UNITS[m.group(2) or ""]


def parse_steps(text: str) -> list[int]:
    """Percentages in ``5,25,50,100``."""
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"not a list of percentages: {text!r}") from None


_OPTIONS = [
    click.option("--strategy", type=click.Choice(["rolling", "blue-green", "canary", "shadow"]),
                 default=None, help="How an update reaches traffic (default rolling)."),
    click.option("--steps", default=None, help="Canary traffic steps in percent, e.g. 5,25,50,100."),
    click.option("--step-interval", default=None, help="Canary pause per step, e.g. 60s."),
    click.option("--max-error-rate-increase", type=float, default=None,
                 help="Canary fails when its error rate exceeds stable's by more (0.02 = 2 points)."),
    click.option("--max-p95-ratio", type=float, default=None,
                 help="Canary fails when its p95 latency exceeds stable's times this."),
    click.option("--min-requests", type=int, default=None,
                 help="Requests the canary must serve before it is judged."),
    click.option("--shadow-percent", type=int, default=None,
                 help="Share of live traffic copied to a shadow candidate."),
    click.option("--max-surge", type=int, default=None,
                 help="Rolling: replicas above the desired count while replacing."),
    click.option("--max-unavailable", type=int, default=None,
                 help="Rolling: Ready replicas that may be missing while replacing."),
    click.option("--keep-old", default=None,
                 help="Blue-green: how long the old revision stays warm, e.g. 5m."),
]


def rollout_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add the rollout options to a command."""
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def rollout_body(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the rollout options out of ``kwargs`` into an API body (unset ones left out)."""
    steps = kwargs.pop("steps", None)
    interval = kwargs.pop("step_interval", None)
    keep_old = kwargs.pop("keep_old", None)
    body = {k: kwargs.pop(k, None) for k in (
        "strategy", "max_error_rate_increase", "max_p95_ratio", "min_requests", "shadow_percent",
        "max_surge", "max_unavailable")}
    body["steps"] = parse_steps(steps) if steps else None
    body["step_interval_s"] = parse_duration(interval) if interval else None
    body["keep_old_s"] = parse_duration(keep_old) if keep_old else None
    return {k: v for k, v in body.items() if v is not None}


_SETTLED = {"rolling": {"succeeded"}, "blue-green": {"warm", "succeeded"},
            "canary": {"succeeded"}, "shadow": {"progressing"}}


def wait_rollout(client: Client, name: str, timeout_s: float) -> dict[str, Any]:
    """Poll the rollout until its strategy's settled state; raise if it was aborted."""
    deadline = time.monotonic() + timeout_s
    r = client.rollout(name)
    while r["state"] not in _SETTLED[r["strategy"]] | {"aborted"} and time.monotonic() < deadline:
        time.sleep(0.25)
        r = client.rollout(name)
    if r["state"] == "aborted":
        raise ModelyardError(ErrorCode.CONFLICT, f"rollout of {name} aborted: {r['reason']}")
    return r
