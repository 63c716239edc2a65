"""``modelyard audit list|verify|export``: read and check the hash-chained audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.output import emit_json, emit_table, output_option
from modelyard.domain.errors import ErrorCode, ModelyardError

_PAGE = 1000
filters = [
    click.option("--actor", default=None, help="Key name (or key:<prefix> for unknown keys)."),
    click.option("--target", default=None, help="Such as deployment/iris or key/<id>."),
    click.option("--action", default=None, help="Such as deployment.create or key.revoke."),
    click.option("--since", default=None, help="ISO time, inclusive."),
    click.option("--until", default=None, help="ISO time, exclusive."),
]


def _with_filters(f: Any) -> Any:
    for opt in reversed(filters):
        f = opt(f)
    return f


def _pages(ctx: CliContext, **params: Any) -> Any:
    client = ctx.client()
    after = 0
    while True:
        page = client.audit(**params, after_seq=after, limit=_PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1]["seq"]


@click.group("audit")
def audit_group() -> None:
    """List, verify and export the audit log."""


@audit_group.command("list")
@_with_filters
@click.option("--limit", type=int, default=100, show_default=True)
@output_option
@pass_ctx
def list_events(ctx: CliContext, actor: str | None, target: str | None, action: str | None,
                since: str | None, until: str | None, limit: int, output: str) -> None:
    """List audit events, oldest first."""
    items = ctx.client().audit(actor=actor, target=target, action=action, since=since,
                               until=until, limit=limit)
    if output == "json":
        emit_json(items)
        return
    emit_table([(e["seq"], e["time"], e["actor"], e["team"], e["action"], e["target"],
                 e["outcome"], e["source"]) for e in items],
               ["seq", "time", "actor", "team", "action", "target", "outcome", "source"])


@audit_group.command("verify")
@output_option
@pass_ctx
def verify(ctx: CliContext, output: str) -> None:
    """Walk the hash chain; exit 1 naming the first broken link."""
    result = ctx.client().verify_audit()
    if output == "json":
        emit_json(result)
    elif result["ok"]:
        click.echo(f"audit chain intact: {result['checked']} events, head {result['head_seq']}")
    if not result["ok"]:
        raise ModelyardError(ErrorCode.CONFLICT, f"audit chain broken at event "
                             f"{result['broken_seq']}: {result['reason']}")


@audit_group.command("export")
@_with_filters
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
@pass_ctx
def export(ctx: CliContext, actor: str | None, target: str | None, action: str | None,
           since: str | None, until: str | None, path: Path | None) -> None:
    """Write events as JSON lines (with their hashes) for a SIEM."""
    params = {"actor": actor, "target": target, "action": action, "since": since, "until": until}

    def dump(out: TextIO) -> int:
        n = 0
        for event in _pages(ctx, **params):
            out.write(json.dumps(event, sort_keys=True) + "\n")
            n += 1
        return n

    if path is None:
        dump(sys.stdout)
        return
    with path.open("w") as fh:
        count = dump(fh)
    click.echo(f"{count} events written to {path}", err=True)
