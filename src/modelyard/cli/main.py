"""``modelyard``: the command-line entry point; one module per command group."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelyard import __version__
from modelyard.cli.audit import audit_group
from modelyard.cli.context import CliContext, default_context
from modelyard.cli.deploy import deploy, deployments_group, replicas_group
from modelyard.cli.drift import drift_group
from modelyard.cli.models import models_group
from modelyard.cli.nodes import nodes_group, quotas_group
from modelyard.cli.plan import plan
from modelyard.cli.rollouts import rollouts_group
from modelyard.cli.serve import gateway, server, up
from modelyard.cli.simulate import simulate_command
from modelyard.cli.tenancy import keys_group, teams_group, users_group
from modelyard.cli.usage import budgets_group, costs_group, usage_group
from modelyard.cli.validate import validate
from modelyard.domain.errors import ModelyardError


@click.group()
@click.version_option(__version__, prog_name="modelyard")
@click.option("--url", envvar="MODELYARD_URL", default=None,
              help="Control plane URL (default $MODELYARD_URL or http://127.0.0.1:8080).")
@click.option("--api-key", envvar="MODELYARD_API_KEY", default=None,
              help="API key (default $MODELYARD_API_KEY, else <home>/admin.key).")
@click.option("--ca-file", default=None, help="CA bundle to verify the server's certificate.")
@click.pass_context
def cli(ctx: click.Context, url: str | None, api_key: str | None, ca_file: str | None) -> None:
    """modelyard: take trained models from a registry to production serving."""
    base = default_context()
    ctx.obj = CliContext(url or base.url, api_key or base.api_key, base.home, ca_file)


for command in (up, server, gateway, models_group, deploy, deployments_group, replicas_group,
                rollouts_group):
    cli.add_command(command)
for command in (teams_group, users_group, keys_group, audit_group, plan, simulate_command,
                nodes_group, quotas_group, usage_group, costs_group, budgets_group, validate,
                drift_group):
    cli.add_command(command)


def main() -> None:
    """Run the CLI; a ModelyardError becomes a one-line message and exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ModelyardError as err:
        click.echo(f"error: {err.code}: {err.message}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


__all__ = ["CliContext", "Path", "cli", "main"]
