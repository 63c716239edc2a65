"""``modelyard usage report``, ``costs report`` and ``budgets set|list|delete``."""

from __future__ import annotations

from typing import Any

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.output import emit_json, emit_table

_format = click.option("--format", "-o", "--output", "fmt", default="table", show_default=True,
                       type=click.Choice(["table", "json", "csv"]), help="Output format.")
_since = click.option("--since", default="7d", show_default=True,
                      help="Window start: 7d, 24h, 30m, 2w or an ISO time.")


def _emit(fmt: str, data: Any, headers: list[str], label: str) -> None:
    if fmt == "csv":
        click.echo(data, nl=False)
    elif fmt == "json":
        emit_json(data)
    else:
        emit_table([[r[h] for h in headers] for r in data["rows"]],
                   [label if h == "key" else h for h in headers])


@click.group("usage")
def usage_group() -> None:
    """Requests and tokens through the gateways."""


@usage_group.command("report")
@click.option("--by", type=click.Choice(["team", "deployment", "key", "model", "project"]),
              default="team",
              show_default=True)
@_since
@_format
@pass_ctx
def usage_report(ctx: CliContext, by: str, since: str, fmt: str) -> None:
    """Requests, errors, tokens and mean latency per group."""
    data = ctx.client().usage(by, since, "csv" if fmt == "csv" else "json")
    _emit(fmt, data, ["key", "requests", "errors", "prompt_tokens", "completion_tokens",
                      "mean_latency_s"], by)


@click.group("costs")
def costs_group() -> None:
    """Cost from replica time (GPU- and CPU-hours at configured prices)."""


@costs_group.command("report")
@click.option("--by", type=click.Choice(["team", "deployment", "model", "project"]),
              default="team",
              show_default=True)
@_since
@_format
@pass_ctx
def cost_report(ctx: CliContext, by: str, since: str, fmt: str) -> None:
    """Cost per team, deployment or model version, and per 1k tokens."""
    data = ctx.client().costs(by, since, "csv" if fmt == "csv" else "json")
    _emit(fmt, data, ["key", "cpu_seconds", "gpu_seconds", "cost", "tokens",
                      "cost_per_1k_tokens"], by)


@click.group("budgets")
def budgets_group() -> None:
    """Team budgets: a soft limit alerts, a hard limit refuses new deployments."""


@budgets_group.command("set")
@click.argument("team")
@click.option("--soft", type=float, required=True, help="Alert at this spending.")
@click.option("--hard", type=float, required=True, help="Refuse new deployments from here.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="month",
              show_default=True)
@_format
@pass_ctx
def set_budget(ctx: CliContext, team: str, soft: float, hard: float, period: str,
               fmt: str) -> None:
    """Set a team's budget (admin)."""
    out = ctx.client().set_budget(team, soft, hard, period)
    if fmt == "json":
        emit_json(out)
    else:
        click.echo(f"budget of {team}: soft {soft:g}, hard {hard:g} per {period}; "
                   f"spent {out['spent']:.2f} ({out['state']})")


_BUDGET_COLUMNS = ["team", "period", "soft", "hard", "spent", "used_ratio", "state"]


@budgets_group.command("list")
@_format
@pass_ctx
def list_budgets(ctx: CliContext, fmt: str) -> None:
    """Budgets with this period's spending."""
    rows = ctx.client().budgets()
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table([[r[c] for c in _BUDGET_COLUMNS] for r in rows], _BUDGET_COLUMNS)


@budgets_group.command("delete")
@click.argument("team")
@pass_ctx
def delete_budget(ctx: CliContext, team: str) -> None:
    """Remove a team's budget (admin)."""
    ctx.client().delete_budget(team)
    click.echo(f"budget of {team} removed")
