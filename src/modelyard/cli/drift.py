"""``modelyard drift show``: which features of a deployment moved against the reference."""

from __future__ import annotations

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.output import emit_json, emit_table, output_option


@click.group("drift")
def drift_group() -> None:
    """Input and prediction drift of tabular deployments."""


@drift_group.command("show")
@click.argument("deployment")
@output_option
@pass_ctx
def show(ctx: CliContext, deployment: str, output: str) -> None:
    """The latest window of DEPLOYMENT against its reference, feature by feature."""
    report = ctx.client().drift(deployment)
    if output == "json":
        emit_json(report)
        return
    ref = report.get("reference") or {}
    click.echo(f"{deployment}: {report['state']}"
               f"{' (DRIFTED)' if report.get('drifted') else ''}; model "
               f"{report.get('model', '-')}@{report.get('version', '-')}; window "
               f"{report.get('window', 0)} samples; reference {ref.get('rows', 0)} rows "
               f"from {ref.get('source', '-')}")
    rows = [[f["name"], f"{f['psi']:.3f}", f"{f['ks']:.3f}", f"{f['p_value']:.2g}",
             "yes" if f["drifted"] else ""] for f in report.get("features", [])]
    if rows:
        emit_table(rows, ["feature", "psi", "ks", "p_value", "drifted"])
