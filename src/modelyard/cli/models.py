"""``modelyard models``: register, list, show, alias, delete."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.output import emit_json, emit_table, output_option


def read_reference(path: Path) -> tuple[list[str], list[list[float]]]:
    """Columns and numeric rows of a CSV with a header row."""
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        columns = next(reader, [])
        try:
            rows = [[float(x) for x in row] for row in reader if row]
        except ValueError as exc:
            raise click.BadParameter(f"{path}: {exc}", param_hint="--reference") from None
    if not columns or not rows:
        raise click.BadParameter(f"{path} needs a header row and data rows",
                                 param_hint="--reference")
    return columns, rows


def _parse_tags(tags: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"tag {tag!r} is not key=value", param_hint="--tag")
        out[key] = value
    return out


@click.group("models")
def models_group() -> None:
    """Register and manage model versions."""


@models_group.command("register")
@click.argument("name")
@click.option("--path", "path", required=True, type=click.Path(exists=True, path_type=Path),
              help="Model file or folder.")
@click.option("--framework", default=None, help="sklearn, … (detected when omitted).")
@click.option("--task", default="classification", show_default=True)
@click.option("--tag", "tags", multiple=True, help="key=value, repeatable.")
@click.option("--description", default="")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="CSV of reference inputs (header row) drift is judged against.")
@output_option
@pass_ctx
def register(ctx: CliContext, name: str, path: Path, framework: str | None, task: str,
             tags: tuple[str, ...], description: str, reference: Path | None,
             output: str) -> None:
    """Upload PATH and register it as the next version of NAME."""
    client = ctx.client()
    v = client.register(name, path, framework=framework, task=task,
                        tags=_parse_tags(tags), description=description)
    if reference is not None:
        columns, rows = read_reference(reference)
        v["reference"] = client.set_reference(name, int(v["version"]), columns, rows)
    if output == "json":
        emit_json(v)
    else:
        click.echo(f"registered {v['model']} version {v['version']} ({v['framework']}, "
                   f"{v['digest'][:19]}…, {v['size_bytes']} bytes)")


@models_group.command("list")
@output_option
@pass_ctx
def list_models(ctx: CliContext, output: str) -> None:
    """List models."""
    models = ctx.client().models()
    if output == "json":
        emit_json(models)
        return
    emit_table([(m["name"], m["team"], m["latest_version"],
                 ",".join(f"{k}={v}" for k, v in sorted(m["aliases"].items())))
                for m in models], ["name", "team", "latest", "aliases"])


@models_group.command("show")
@click.argument("name")
@output_option
@pass_ctx
def show(ctx: CliContext, name: str, output: str) -> None:
    """Show a model's versions and aliases."""
    m = ctx.client().model(name)
    if output == "json":
        emit_json(m)
        return
    click.echo(f"model {m['name']} (team {m['team']})  aliases: "
               + (", ".join(f"{k}→{v}" for k, v in sorted(m["aliases"].items())) or "none"))
    emit_table([(v["version"], v["framework"], v["task"], v["digest"][:19], v["size_bytes"],
                 v["created_by"], v["created_at"]) for v in m["versions"]],
               ["version", "framework", "task", "digest", "bytes", "by", "created"])


@models_group.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
@output_option
@pass_ctx
def alias(ctx: CliContext, name: str, alias: str, version: int, output: str) -> None:
    """Point ALIAS of NAME at VERSION."""
    a = ctx.client().set_alias(name, alias, version)
    if output == "json":
        emit_json(a)
    else:
        click.echo(f"{a['model']}@{a['alias']} → version {a['version']}")


@models_group.command("delete")
@click.argument("name")
@click.option("--version", type=int, default=None, help="Delete only this version.")
@output_option
@pass_ctx
def delete(ctx: CliContext, name: str, version: int | None, output: str) -> None:
    """Delete a model (or one version); refused while deployed."""
    ctx.client().delete_model(name, version)
    if output == "json":
        emit_json({"deleted": name, "version": version})
    else:
        click.echo(f"deleted {name}" + (f" version {version}" if version else ""))
