"""``modelyard nodes``: inventory, declared GPUs, cordon and drain."""

from __future__ import annotations

from typing import Any

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.output import emit_json, emit_table, output_option

GIB = 1024**3


def _print(n: dict[str, Any]) -> None:
    flags = [f for f in ("cordoned", "draining") if n[f]]
    click.echo(f"node {n['name']} ({n['source']}{', ' + ', '.join(flags) if flags else ''})  "
               f"cpu {n['cpu_milli'] / 1000:g} cores  memory {n['memory_mib'] / 1024:.1f} GiB  "
               f"replicas {len(n['replicas'])}")
    emit_table([(g["index"], g["model"], f"{g['memory_bytes'] / GIB:.1f}",
                 f"{g['allocated_memory_bytes'] / GIB:.1f}", f"{g['free_memory_bytes'] / GIB:.1f}",
                 g["allocated_milli"], g["uuid"]) for g in n["gpus"]],
               ["gpu", "model", "gib", "allocated gib", "free gib", "milli", "uuid"])


@click.group("nodes")
def nodes_group() -> None:
    """Inspect and manage the node inventory."""


@nodes_group.command("list")
@output_option
@pass_ctx
def list_nodes(ctx: CliContext, output: str) -> None:
    """Nodes with capacity, allocations and free GPU memory."""
    items = ctx.client().nodes()
    if output == "json":
        emit_json(items)
        return
    emit_table([(n["name"], n["source"], "yes" if n["cordoned"] else "", len(n["gpus"]),
                 ",".join(sorted({g["model"] for g in n["gpus"]})),
                 f"{sum(g['free_memory_bytes'] for g in n['gpus']) / GIB:.1f}",
                 len(n["replicas"])) for n in items],
               ["name", "source", "cordoned", "gpus", "models", "free gib", "replicas"])


@nodes_group.command("show")
@click.argument("name")
@output_option
@pass_ctx
def show(ctx: CliContext, name: str, output: str) -> None:
    """One node, GPU by GPU."""
    n = ctx.client().node(name)
    if output == "json":
        emit_json(n)
    else:
        _print(n)


def _gpu_spec(text: str) -> dict[str, Any]:
    model, sep, count = text.rpartition("x") if "x" in text else (text, "", "1")
    if not sep:
        model, count = text, "1"
    if not count.isdigit():
        raise click.BadParameter(f"{text!r}: use MODEL or MODELxCOUNT, e.g. H100-80GBx8",
                                 param_hint="--gpu")
    return {"model": model, "count": int(count)}


@nodes_group.command("add")
@click.argument("name")
@click.option("--gpu", "gpus", multiple=True, help="MODEL or MODELxCOUNT, e.g. H100-80GBx8.")
@click.option("--cpu", "cpu_cores", type=float, default=0.0, help="CPU cores.")
@click.option("--memory-gib", type=float, default=0.0)
@click.option("--label", "labels", multiple=True, help="key=value, repeatable.")
@click.option("--taint", "taints", multiple=True, help="key=value, repeatable.")
@output_option
@pass_ctx
def add(ctx: CliContext, name: str, gpus: tuple[str, ...], cpu_cores: float, memory_gib: float,
        labels: tuple[str, ...], taints: tuple[str, ...], output: str) -> None:
    """Declare a node, or the GPUs of an existing one (planning, CPU-only machines)."""
    label_map = dict(item.split("=", 1) for item in labels if "=" in item)
    n = ctx.client().declare_node(name=name, gpus=[_gpu_spec(g) for g in gpus],
                                  cpu_milli=int(cpu_cores * 1000),
                                  memory_mib=int(memory_gib * 1024), labels=label_map,
                                  taints=list(taints))
    if output == "json":
        emit_json(n)
    else:
        _print(n)


def _action(name: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("node")
    @output_option
    @pass_ctx
    def run(ctx: CliContext, node: str, output: str) -> None:
        n = ctx.client().node_action(node, name)
        if output == "json":
            emit_json(n)
        else:
            _print(n)

    return run


for _name, _doc in (("cordon", "No new replicas land on NODE."),
                    ("uncordon", "NODE takes replicas again."),
                    ("drain", "Cordon NODE and move its replicas away.")):
    nodes_group.add_command(_action(_name, _doc))


@nodes_group.command("remove")
@click.argument("name")
@output_option
@pass_ctx
def remove(ctx: CliContext, name: str, output: str) -> None:
    """Forget a node."""
    ctx.client().remove_node(name)
    if output == "json":
        emit_json({"removed": name})
    else:
        click.echo(f"removed {name}")


@click.group("quotas")
def quotas_group() -> None:
    """Team GPU quotas (guaranteed and borrowable, per GPU model)."""


@quotas_group.command("list")
@output_option
@pass_ctx
def list_quotas(ctx: CliContext, output: str) -> None:
    """Quotas you may see."""
    items = ctx.client().quotas()
    if output == "json":
        emit_json(items)
    else:
        emit_table([(q["team"], q["gpu_model"], f"{q['guaranteed']:g}", f"{q['borrow']:g}")
                    for q in items], ["team", "gpu model", "guaranteed", "borrowable"])


@quotas_group.command("set")
@click.argument("team")
@click.argument("gpu_model")
@click.option("--guaranteed", type=float, required=True, help="GPUs always available.")
@click.option("--borrow", type=float, default=0.0, show_default=True,
              help="GPUs more that may be borrowed from other teams' idle guarantees.")
@output_option
@pass_ctx
def set_quota(ctx: CliContext, team: str, gpu_model: str, guaranteed: float, borrow: float,
              output: str) -> None:
    """Set TEAM's quota for GPU_MODEL."""
    q = ctx.client().set_quota(team, gpu_model, guaranteed, borrow)
    if output == "json":
        emit_json(q)
    else:
        click.echo(f"{q['team']} {q['gpu_model']}: {q['guaranteed']:g} guaranteed, "
                   f"{q['borrow']:g} borrowable")
