"""``modelyard teams``, ``users`` and ``keys``: tenancy from the command line."""

from __future__ import annotations

import re

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.output import emit_json, emit_table, output_option

_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration_s(text: str) -> int:
    """``90``, ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` → seconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise click.BadParameter(f"{text!r} is not a duration like 30m, 12h or 7d")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


@click.group("teams")
def teams_group() -> None:
    """Create and list teams."""


@teams_group.command("create")
@click.argument("name")
@output_option
@pass_ctx
def create_team(ctx: CliContext, name: str, output: str) -> None:
    """Create team NAME (admin)."""
    team = ctx.client().create_team(name)
    if output == "json":
        emit_json(team)
    else:
        click.echo(f"team {team['name']} created")


@teams_group.command("list")
@output_option
@pass_ctx
def list_teams(ctx: CliContext, output: str) -> None:
    """List the teams you may see."""
    items = ctx.client().teams()
    if output == "json":
        emit_json(items)
    else:
        emit_table([(t["name"], t["created_at"]) for t in items], ["name", "created"])


@click.group("users")
def users_group() -> None:
    """Add users to teams and list them."""


@users_group.command("create")
@click.argument("name")
@click.option("--team", default=None, help="Team (default: your key's team).")
@click.option("--role", type=click.Choice(["admin", "team-admin", "developer", "viewer"]),
              default="developer", show_default=True)
@output_option
@pass_ctx
def create_user(ctx: CliContext, name: str, team: str | None, role: str, output: str) -> None:
    """Add user NAME to a team with a role."""
    user = ctx.client().create_user(name, team, role)
    if output == "json":
        emit_json(user)
    else:
        click.echo(f"user {user['name']} is {user['role']} in team {user['team']}")


@users_group.command("list")
@click.option("--team", default=None)
@output_option
@pass_ctx
def list_users(ctx: CliContext, team: str | None, output: str) -> None:
    """List users of the teams you may see."""
    items = ctx.client().users(team)
    if output == "json":
        emit_json(items)
    else:
        emit_table([(u["name"], u["team"], u["role"]) for u in items], ["name", "team", "role"])


@click.group("keys")
def keys_group() -> None:
    """Create, list and revoke API keys."""


@keys_group.command("create")
@click.argument("name")
@click.option("--team", default=None, help="Team (default: your key's team).")
@click.option("--role", type=click.Choice(["admin", "team-admin", "developer", "viewer", "invoker"]),
              default="developer", show_default=True)
@click.option("--user", default=None, help="The user the key belongs to (else a service account).")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["management", "inference"]),
              help="Repeatable; default both (invoker: inference).")
@click.option("--deployment", "deployments", multiple=True,
              help="Repeatable; the deployments the key may call (required for invoker).")
@click.option("--expires-in", default=None, help="Lifetime such as 30m, 12h, 7d.")
@output_option
@pass_ctx
def create_key(ctx: CliContext, name: str, team: str | None, role: str, user: str | None,
               scopes: tuple[str, ...], deployments: tuple[str, ...], expires_in: str | None,
               output: str) -> None:
    """Create API key NAME; the key is printed once and never shown again."""
    key = ctx.client().create_key(
        name=name, team=team, role=role, user=user, scopes=list(scopes) or None,
        deployments=list(deployments),
        expires_in_s=parse_duration_s(expires_in) if expires_in else None)
    if output == "json":
        emit_json(key)
        return
    click.echo(f"key {key['name']} ({key['id']}) for team {key['team']} as {key['role']}, "
               f"scopes {','.join(key['scopes'])}"
               + (f", expires {key['expires_at']}" if key["expires_at"] else ""))
    click.echo("store it now; it is shown only this once:")
    click.echo(f"  {key['key']}")


@keys_group.command("list")
@output_option
@pass_ctx
def list_keys(ctx: CliContext, output: str) -> None:
    """List keys (id, prefix, role, scopes, state; never the keys)."""
    items = ctx.client().keys()
    if output == "json":
        emit_json(items)
        return
    emit_table([(k["id"], k["prefix"], k["name"], k["team"], k["role"], ",".join(k["scopes"]),
                 ",".join(k["deployments"]), k["state"], k["expires_at"], k["last_used_at"])
                for k in items],
               ["id", "prefix", "name", "team", "role", "scopes", "deployments", "state",
                "expires", "last used"])


@keys_group.command("revoke")
@click.argument("key_id")
@output_option
@pass_ctx
def revoke_key(ctx: CliContext, key_id: str, output: str) -> None:
    """Revoke key KEY_ID at once (gateways drop it within seconds)."""
    key = ctx.client().revoke_key(key_id)
    if output == "json":
        emit_json(key)
    else:
        click.echo(f"key {key['name']} ({key['id']}) revoked")
