"""``modelyard deploy`` and ``modelyard deployments`` / ``replicas``."""

from __future__ import annotations

import time
from typing import Any

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.output import emit_json, emit_table, output_option
from modelyard.cli.rollout_options import rollout_body, rollout_options, wait_rollout
from modelyard.domain.errors import ErrorCode, ModelyardError


def _print_deployment(d: dict[str, Any]) -> None:
    rev = d.get("revision") or {}
    click.echo(f"deployment {d['name']}  env={d['environment']}  team={d['team']}  "
               f"status={d['status']}  ready={d['ready_replicas']}/{d['desired_replicas']}")
    if rev:
        click.echo(f"revision {rev['number']}: {rev['model']} version {rev['version']}"
                   + (f" (alias {rev['alias']})" if rev.get("alias") else "")
                   + f"  {rev['framework']}  {rev['digest'][:19]}")
    _print_replicas(d["replicas"])


def _print_replicas(replicas: list[dict[str, Any]]) -> None:
    emit_table([(r["id"], r["state"], r["pid"], r["port"], r["node"], r["restart_count"],
                 r["reason"]) for r in replicas],
               ["replica", "state", "pid", "port", "node", "restarts", "reason"])


def _wait(ctx: CliContext, name: str, timeout_s: float) -> dict[str, Any]:
    client = ctx.client()
    deadline = time.monotonic() + timeout_s
    d = client.deployment(name)
    while d["status"] not in ("ready", "scaled_to_zero") and time.monotonic() < deadline:
        if d["status"] == "crash_loop":
            break
        time.sleep(0.25)
        d = client.deployment(name)
    return d


ENGINE_FLAGS = ("tensor_parallel_size", "gpu_memory_fraction", "max_model_len", "max_num_seqs",
                "quantization", "kv_cache_dtype", "speculative_model", "num_speculative_tokens",
                "extra_args", "engine_version")


RESOURCE_FLAGS = ("gpu_count", "gpu_milli", "gpu_memory_gib", "gpu_models", "node_selector",
                  "tolerations")


def _resources(flags: dict[str, Any]) -> dict[str, Any] | None:
    given = {k: v for k, v in flags.items() if v not in (None, ())}
    if not given:
        return None
    if "gpu_milli" in given and "gpu_count" not in given:
        given["gpu_count"] = 1
    if "gpu_models" in given:
        given["gpu_models"] = list(given["gpu_models"])
    if "node_selector" in given:
        given["node_selector"] = dict(s.split("=", 1) for s in given["node_selector"] if "=" in s)
    if "tolerations" in given:
        given["tolerations"] = list(given["tolerations"])
    return given


def _engine_settings(engine: str | None, flags: dict[str, Any]) -> dict[str, Any] | None:
    given = {k: v for k, v in flags.items() if v not in (None, ())}
    if "engine_version" in given:
        given["version"] = given.pop("engine_version")
    if "extra_args" in given:
        given["extra_args"] = list(given["extra_args"])
    if engine is None:
        if given:
            raise click.UsageError(f"{', '.join(sorted(given))} need --engine")
        return None
    return given


def _exists(ctx: CliContext, name: str) -> bool:
    try:
        ctx.client().deployment(name)
    except ModelyardError as err:
        if err.code == ErrorCode.DEPLOYMENT_NOT_FOUND:
            return False
        raise
    return True


@click.command("deploy")
@click.argument("name")
@click.option("--model", default=None, help="Registered model name (updates default to the current).")
@click.option("--version", type=int, default=None, help="Model version number.")
@click.option("--alias", default=None, help="Model alias (instead of --version).")
@click.option("--replicas", type=int, default=None, help="Replica count (new deployments: 1).")
@click.option("--env", "environment", type=click.Choice(["dev", "staging", "production"]),
              default="dev", show_default=True)
@click.option("--message", default="", help="Why (kept on the revision).")
@click.option("--max-batch-size", type=int, default=None,
              help="Rows merged into one forward pass (0/1 = off; default per runtime).")
@click.option("--max-batch-delay-ms", type=float, default=None,
              help="Longest wait to fill a batch (default per runtime).")
@click.option("--instances", type=int, default=None,
              help="Model instances per replica whose forward passes overlap (default per runtime).")
@click.option("--compile/--no-compile", "compile_graph", default=None,
              help="Compile the forward graph at load (embeddings): slower start, faster batches.")
@rollout_options
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until every replica is ready (updates: until the rollout settles).")
@click.option("--timeout", "timeout_s", type=float, default=120.0, show_default=True)
@click.option("--gpus", "gpu_count", type=int, default=None,
              help="Whole GPUs per replica on one node (tensor parallelism).")
@click.option("--gpu-share", "gpu_milli", type=int, default=None,
              help="Milli-GPU of one shared GPU per replica (1-999).")
@click.option("--gpu-memory-gib", type=float, default=None, help="GPU memory per GPU.")
@click.option("--gpu-model", "gpu_models", multiple=True, help="Allowed GPU model, repeatable.")
@click.option("--node-selector", "node_selector", multiple=True,
              help="key=value a node must carry, repeatable.")
@click.option("--toleration", "tolerations", multiple=True,
              help="KEY or KEY=VALUE taint to accept, repeatable.")
@click.option("--engine", type=click.Choice(["vllm", "tgi", "llamacpp", "trtllm"]),
              default=None, help="Serve with a real engine instead of a built-in runtime.")
@click.option("--tensor-parallel", "tensor_parallel_size", type=int, default=None)
@click.option("--gpu-memory-fraction", type=float, default=None)
@click.option("--max-model-len", type=int, default=None)
@click.option("--max-num-seqs", type=int, default=None)
@click.option("--quantization", default=None)
@click.option("--kv-cache-dtype", default=None)
@click.option("--speculative-model", default=None)
@click.option("--num-speculative-tokens", type=int, default=None)
@click.option("--engine-arg", "extra_args", multiple=True, help="Extra engine flag, repeatable.")
@click.option("--endpoint", "endpoints", multiple=True,
              help="Serve NAME from this external URL (repeatable); no replicas are started.")
@click.option("--upstream-key-env", default="",
              help="Gateway environment variable holding the external endpoints' API key.")
@click.option("--read-timeout", "read_timeout_s", type=float, default=None,
              help="External endpoints: read timeout in seconds (default: the gateway's).")
@click.option("--connect-timeout", "connect_timeout_s", type=float, default=None,
              help="External endpoints: connect timeout in seconds (default: the gateway's).")
@click.option("--engine-version", "engine_version", default=None,
              help="Engine release (picks flags that changed between versions).")
@output_option
@pass_ctx
def deploy(ctx: CliContext, /, name: str, model: str | None, version: int | None, alias: str | None,
           replicas: int | None, environment: str, message: str, max_batch_size: int | None,
           max_batch_delay_ms: float | None, instances: int | None, wait: bool, timeout_s: float,
           engine: str | None, output: str, **options: Any) -> None:
    """Deploy a model version as NAME, or update NAME (a new revision, rolled out)."""
    if version is not None and alias is not None:
        raise click.UsageError("give at most one of --version and --alias")
    compile_graph: bool | None = options.pop("compile_graph")
    engine_flags = {k: options.pop(k) for k in ENGINE_FLAGS}
    resources = _resources({k: options.pop(k) for k in RESOURCE_FLAGS})
    endpoints, key_env = options.pop("endpoints"), options.pop("upstream_key_env")
    timeouts = {k: options.pop(k) for k in ("read_timeout_s", "connect_timeout_s")}
    if endpoints:
        _deploy_external(ctx, name, dict(endpoints=list(endpoints), upstream_key_env=key_env,
                                         environment=environment, **timeouts), output)
        return
    if _exists(ctx, name):
        if engine is not None or any(v not in (None, ()) for v in engine_flags.values()):
            raise click.UsageError("engine settings are fixed at creation; deploy a new name")
        _update(ctx, name, dict(model=model, version=version, alias=alias, replicas=replicas,
                                message=message, max_batch_size=max_batch_size,
                                max_batch_delay_ms=max_batch_delay_ms, instances=instances,
                                compile=compile_graph, **rollout_body(options)),
                wait, timeout_s, output)
        return
    if model is None or (version is None) == (alias is None):
        raise click.UsageError("a new deployment needs --model and one of --version and --alias")
    settings = _engine_settings(engine, engine_flags)
    d = ctx.client().deploy(name=name, model=model, version=version, alias=alias,
                            replicas=1 if replicas is None else replicas,
                            environment=environment, message=message,
                            max_batch_size=max_batch_size, max_batch_delay_ms=max_batch_delay_ms,
                            instances=instances, compile=bool(compile_graph), engine=engine,
                            engine_settings=settings,
                            resources=resources)
    if wait:
        d = _wait(ctx, name, timeout_s)
    if output == "json":
        emit_json(d)
    else:
        _print_deployment(d)
    if wait and d["status"] not in ("ready", "scaled_to_zero"):
        raise ModelyardError(ErrorCode.NO_READY_REPLICA,
                             f"deployment {name} is {d['status']} after {timeout_s:.0f}s")


def _deploy_external(ctx: CliContext, name: str, body: dict[str, Any], output: str) -> None:
    d = ctx.client().deploy_external(name=name, **body)
    if output == "json":
        emit_json(d)
    else:
        click.echo(f"deployment {d['name']}  env={d['environment']}  team={d['team']}  "
                   f"external endpoints: {', '.join(d['endpoints'])}")


def _update(ctx: CliContext, name: str, body: dict[str, Any], wait: bool, timeout_s: float,
            output: str) -> None:
    client = ctx.client()
    out = client.update(name, **body)
    if wait:
        out["rollout"] = wait_rollout(client, name, timeout_s)
    if output == "json":
        emit_json(out)
        return
    rev = out["revision"]
    click.echo(f"{name}: revision {rev['number']} ({rev['model']} version {rev['version']}) "
               f"rolling out by {out['strategy']} as {out['rollout_id']}")
    if wait:
        click.echo(f"rollout {out['rollout']['state']}")


@click.group("deployments")
def deployments_group() -> None:
    """Inspect and change deployments."""


@deployments_group.command("list")
@output_option
@pass_ctx
def list_deployments(ctx: CliContext, output: str) -> None:
    """List deployments."""
    items = ctx.client().deployments()
    if output == "json":
        emit_json(items)
        return
    emit_table([(d["name"], d["environment"], d["status"],
                 f"{d['ready_replicas']}/{d['desired_replicas']}",
                 f"{d['revision']['model']}:{d['revision']['version']}" if d["revision"] else "")
                for d in items], ["name", "env", "status", "ready", "model"])


@deployments_group.command("show")
@click.argument("name")
@output_option
@pass_ctx
def show(ctx: CliContext, name: str, output: str) -> None:
    """Show a deployment with its replicas (state, pid, port, node)."""
    d = ctx.client().deployment(name)
    if output == "json":
        emit_json(d)
    else:
        _print_deployment(d)


@deployments_group.command("scale")
@click.argument("name")
@click.argument("replicas", type=int)
@output_option
@pass_ctx
def scale(ctx: CliContext, name: str, replicas: int, output: str) -> None:
    """Set the replica count of NAME."""
    d = ctx.client().scale(name, replicas)
    if output == "json":
        emit_json(d)
    else:
        click.echo(f"{name}: desired replicas {d['desired_replicas']}")


@deployments_group.command("delete")
@click.argument("name")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until every replica process has stopped.")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True)
@output_option
@pass_ctx
def delete(ctx: CliContext, name: str, wait: bool, timeout_s: float, output: str) -> None:
    """Stop every replica of NAME and remove it."""
    client = ctx.client()
    client.delete_deployment(name)
    gone = False
    deadline = time.monotonic() + timeout_s
    while wait and time.monotonic() < deadline:
        try:
            client.deployment(name)
        except ModelyardError as err:
            if err.code == ErrorCode.DEPLOYMENT_NOT_FOUND:
                gone = True
                break
            raise
        time.sleep(0.2)
    if output == "json":
        emit_json({"deleted": name, "gone": gone})
    else:
        click.echo(f"deleted {name}" if gone or not wait else f"{name} is still stopping")
    if wait and not gone:
        raise ModelyardError(ErrorCode.CONFLICT, f"{name} still has replicas after {timeout_s:.0f}s")


@click.group("replicas")
def replicas_group() -> None:
    """Inspect replicas."""


@replicas_group.command("list")
@click.argument("deployment")
@output_option
@pass_ctx
def list_replicas(ctx: CliContext, deployment: str, output: str) -> None:
    """List the replicas of DEPLOYMENT."""
    items = ctx.client().replicas(deployment)
    if output == "json":
        emit_json(items)
    else:
        _print_replicas(items)


@replicas_group.command("logs")
@click.argument("replica_id")
@click.option("--tail", type=int, default=200, show_default=True)
@output_option
@pass_ctx
def logs(ctx: CliContext, replica_id: str, tail: int, output: str) -> None:
    """Print the last lines of a replica's log."""
    text = ctx.client().logs(replica_id, tail)
    if output == "json":
        emit_json({"replica": replica_id, "lines": text.splitlines()})
    else:
        click.echo(text, nl=False)
