"""``modelyard rollouts`` and the revision commands of ``modelyard deployments``.

``deployments history|rollback|promote|validate`` are added to the deployments group
here, so the deployments module stays about deploying and scaling.
"""

from __future__ import annotations

from typing import Any

import click

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.deploy import deployments_group
from modelyard.cli.output import emit_json, emit_table, output_option
from modelyard.cli.rollout_options import rollout_body, rollout_options, wait_rollout


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}ms"


def _figures(f: dict[str, Any] | None) -> str:
    if not f:
        return ""
    text = (f"stable {f['stable_requests']} req err {_pct(f['stable_error_rate'])} "
            f"p95 {_ms(f['stable_p95_s'])} | candidate {f['candidate_requests']} req "
            f"err {_pct(f['candidate_error_rate'])} p95 {_ms(f['candidate_p95_s'])}")
    if f.get("disagreement_rate") is not None:
        text += f" disagree {_pct(f['disagreement_rate'])}"
    return text


def _print_rollout(r: dict[str, Any]) -> None:
    click.echo(f"rollout {r['id']}  {r['strategy']}  state={r['state']}  "
               f"revision {r['stable_revision']} → {r['candidate_revision']}")
    if r["strategy"] == "canary":
        click.echo(f"steps {','.join(str(s) for s in r['steps'])}  now step {r['step']} "
                   f"({r['step_weight']}%)  interval {r['step_interval_s']:g}s")
    if r["strategy"] == "shadow":
        click.echo(f"shadow copies: {r['shadow_percent']}% of traffic")
    if r.get("reason"):
        click.echo(f"reason: {r['reason']}")
    if r.get("waiting_for"):
        click.echo(f"waiting: {r['waiting_for']}")
    if r.get("live"):
        click.echo(f"live: {_figures(r['live'])}")
    emit_table([(e["at"][:19], e["kind"], e["actor"], e["message"], _figures(e["figures"]))
                for e in r["history"]], ["at", "event", "by", "message", "figures"])


@click.group("rollouts")
def rollouts_group() -> None:
    """Watch and steer rollouts (canary, blue-green, shadow, rolling)."""


@rollouts_group.command("show")
@click.argument("name")
@output_option
@pass_ctx
def show(ctx: CliContext, name: str, output: str) -> None:
    """Show NAME's latest rollout: state, live figures and every step with its figures."""
    r = ctx.client().rollout(name)
    if output == "json":
        emit_json(r)
    else:
        _print_rollout(r)


@rollouts_group.command("list")
@click.argument("name")
@output_option
@pass_ctx
def list_rollouts(ctx: CliContext, name: str, output: str) -> None:
    """List NAME's rollouts, newest first."""
    items = ctx.client().rollouts(name)
    if output == "json":
        emit_json(items)
        return
    emit_table([(r["id"], r["strategy"], r["state"], r["stable_revision"], r["candidate_revision"],
                 r["created_at"][:19], r["reason"]) for r in items],
               ["rollout", "strategy", "state", "stable", "candidate", "created", "reason"])


def _action(name: str, help_text: str) -> None:
    @rollouts_group.command(name, help=help_text)
    @click.argument("deployment")
    @click.option("--reason", default="", help="Why (kept in the rollout history).")
    @output_option
    @pass_ctx
    def command(ctx: CliContext, deployment: str, reason: str, output: str) -> None:
        r = ctx.client().rollout_action(deployment, name, reason)
        if output == "json":
            emit_json(r)
        else:
            click.echo(f"{deployment}: rollout {r['id']} is {r['state']}")


_action("pause", "Hold the active rollout at its current step.")
_action("resume", "Continue a paused rollout (the current step restarts).")
_action("promote", "Finish the active rollout now: the candidate takes all traffic.")
_action("abort", "Stop the active rollout: all traffic back to the stable revision.")


@deployments_group.command("history")
@click.argument("name")
@output_option
@pass_ctx
def history(ctx: CliContext, name: str, output: str) -> None:
    """NAME's revisions (who, when, why) and its rollout events."""
    client = ctx.client()
    revisions = client.revisions(name)
    events = client.history(name)
    if output == "json":
        emit_json({"revisions": revisions, "events": events})
        return
    current = client.deployment(name)["revision"]["number"]
    emit_table([("*" if r["number"] == current else "", r["number"], f"{r['model']}:{r['version']}",
                 r["replicas"], r["created_at"][:19], r["created_by"], r["message"])
                for r in revisions],
               ["", "revision", "model", "replicas", "created", "by", "message"])
    if events:
        click.echo("")
        emit_table([(e["at"][:19], e["kind"], e["revision"], e["actor"], e["message"])
                    for e in events], ["at", "event", "revision", "by", "message"])


@deployments_group.command("rollback")
@click.argument("name")
@click.option("--to-revision", type=int, default=None,
              help="Revision whose spec to restore (default: the last different one).")
@click.option("--message", default="", help="Why (kept on the new revision).")
@rollout_options
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.option("--timeout", "timeout_s", type=float, default=120.0, show_default=True)
@output_option
@pass_ctx
def rollback(ctx: CliContext, /, name: str, to_revision: int | None, message: str, wait: bool,
             timeout_s: float, output: str, **options: Any) -> None:
    """Restore an earlier revision of NAME as a new revision."""
    client = ctx.client()
    out = client.rollback(name, to_revision=to_revision, message=message, **rollout_body(options))
    if wait:
        out["rollout"] = wait_rollout(client, name, timeout_s)
    if output == "json":
        emit_json(out)
    else:
        click.echo(f"{name}: revision {out['revision']['number']} restores "
                   f"{out['revision']['model']} version {out['revision']['version']}")


@deployments_group.command("validate")
@click.argument("name")
@click.argument("revision", type=int)
@click.option("--passed/--failed", required=True, help="Whether the revision met its SLA.")
@click.option("--summary", default="", help="What was measured.")
@output_option
@pass_ctx
def validate(ctx: CliContext, name: str, revision: int, passed: bool, summary: str,
             output: str) -> None:
    """Record a validation result of NAME's REVISION (read by the promotion gate)."""
    v = ctx.client().validate(name, revision, passed, summary)
    if output == "json":
        emit_json(v)
    else:
        click.echo(f"{name} revision {revision}: validation {'passed' if passed else 'failed'}")


@deployments_group.command("promote")
@click.argument("name")
@click.option("--to", "target", required=True, help="Production deployment to create or update.")
@click.option("--revision", type=int, default=None, help="Staging revision (default: current).")
@click.option("--override-reason", default=None,
              help="Admin only: promote although the validation did not pass, and say why.")
@click.option("--message", default="", help="Why (kept on the new revision).")
@rollout_options
@output_option
@pass_ctx
def promote(ctx: CliContext, /, name: str, target: str, revision: int | None,
            override_reason: str | None, message: str, output: str, **options: Any) -> None:
    """Copy a staging revision of NAME to production deployment TARGET, behind the gate."""
    out = ctx.client().promote_environment(name, target=target, revision=revision,
                                           override_reason=override_reason, message=message,
                                           **rollout_body(options))
    if output == "json":
        emit_json(out)
    else:
        click.echo(f"{name} revision {out['source_revision']} → {target} revision "
                   f"{out['target_revision']} ({out['gate']})")
