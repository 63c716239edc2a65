"""How the CLI prints: aligned tables for people, ``-o json`` for machines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

output_option = click.option("-o", "--output", type=click.Choice(["table", "json"]),
                             default="table", show_default=True, help="Output format.")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def emit_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """Print rows as an aligned table."""
    cells = [[str(h).upper() for h in headers]] + [["" if c is None else str(c) for c in r]
                                                   for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
