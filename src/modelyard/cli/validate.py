"""``modelyard validate``: load-test a deployment against an SLA and record the result.

The run drives real requests through the gateway (``cli.load``), judges the SLA
(``domain.sla``), prints a table (or JSON with ``-o json``) and records the result on the
revision through the validations API, where the production promotion gate reads it.
Live progress goes to stderr. Exit status 3 when the SLA was not met.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import httpx

from modelyard.cli.context import CliContext, pass_ctx
from modelyard.cli.load import (
    ChatWorkload,
    DatasetWorkload,
    Driver,
    LoadSpec,
    OipWorkload,
    Workload,
    parse_duration,
)
from modelyard.cli.output import emit_json, emit_table, output_option
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.sla import Sample, SloResult, evaluate, parse_sla, percentile, summarize

LLM_FRAMEWORKS = ("transformers",)
EXIT_SLA_FAILED = 3


def _is_llm(revision: dict[str, Any]) -> bool:
    return bool(revision.get("engine")) or revision.get("framework") in LLM_FRAMEWORKS


def _oip_inputs(url: str, key: str, name: str, verify: Any) -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, verify=verify,
                      trust_env=False, timeout=30) as http:
        resp = http.get(f"/v2/models/{name}")
    if resp.status_code != 200:
        raise ModelyardError(ErrorCode.NO_READY_REPLICA,
                             f"cannot read {name!r}'s metadata through the gateway "
                             f"(HTTP {resp.status_code}); is it ready?")
    inputs: list[dict[str, Any]] = resp.json().get("inputs") or []
    return inputs


def _progress(elapsed: float, samples: Sequence[Sample]) -> None:
    errors = sum(1 for s in samples if not s.ok)
    p95 = percentile([s.latency_s for s in samples if s.ok], 95)
    rate = len(samples) / elapsed if elapsed > 0 else 0.0
    p95_text = "-" if p95 is None else f"{p95 * 1000:.1f}ms"
    click.echo(f"\r{elapsed:6.1f}s  requests {len(samples):6d}  errors {errors:4d}  "
               f"{rate:7.1f} req/s  p95 {p95_text:>9}", err=True, nl=False)


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric == "error_rate":
        return f"{value:.2%}"
    if metric in ("throughput", "goodput"):
        return f"{value:.1f}/s"
    return f"{value * 1000:.1f}ms"


def _summary(results: list[SloResult], figures: dict[str, Any]) -> str:
    parts = [f"{r.slo.metric}={_fmt(r.slo.metric, r.value)} ({r.slo}) "
             f"{'ok' if r.passed else 'FAILED'}" for r in results]
    return "; ".join(parts) + (f"; {figures['requests']} requests in {figures['duration_s']}s, "
                               f"{figures['throughput_rps']:.1f} req/s")


def _command(name: str, params: dict[str, Any]) -> str:
    argv = ["modelyard", "validate", name]
    for key, value in params.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return shlex.join(argv)


def _table(figures: dict[str, Any], results: list[SloResult]) -> None:
    rows = [[k, figures[k]] for k in ("requests", "succeeded", "failed", "duration_s")]
    rows += [["throughput", _fmt("throughput", figures["throughput_rps"])],
             ["goodput", _fmt("goodput", figures["goodput_rps"])],
             ["error_rate", _fmt("error_rate", figures["error_rate"])]]
    if "output_tokens_per_s" in figures:
        rows.append(["output tokens/s", f"{figures['output_tokens_per_s']:.1f}"])
    emit_table(rows, ["figure", "value"])
    click.echo()
    stats = ["mean", "p50", "p90", "p95", "p99"]
    emit_table([[fam] + [_fmt("latency", figures[fam][s]) for s in stats]
                for fam in ("latency", "ttft", "tpot", "itl") if fam in figures],
               ["latency", *stats])
    click.echo()
    emit_table([[str(r.slo), _fmt(r.slo.metric, r.value), "pass" if r.passed else "FAIL"]
                for r in results], ["objective", "measured", "result"])


@click.command("validate")
@click.argument("name")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=32, show_default=True,
              help="Requests in flight (closed loop), or the cap with --rate.")
@click.option("--duration", default="60s", show_default=True, help="How long to drive: 60s, 2m.")
@click.option("--rate", type=click.FloatRange(min=0.01), default=None,
              help="Open loop: arrivals per second (default: closed loop).")
@click.option("--burstiness", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="Open loop gamma shape: 1 = Poisson, below 1 = burstier.")
@click.option("--sla", required=True, help='Objectives, e.g. "p95<200ms,error_rate<1%".')
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="JSONL of recorded request bodies (default: synthetic).")
@click.option("--input-len", type=click.IntRange(1), default=32, show_default=True,
              help="LLM routes: prompt length in words.")
@click.option("--output-len", type=click.IntRange(1), default=16, show_default=True,
              help="LLM routes: max_tokens.")
@click.option("--revision", type=int, default=None,
              help="Revision to validate and pin (default: the current one).")
@click.option("--gateway", "gateway_url", default=None, help="Gateway URL (default: --url).")
@click.option("--record/--no-record", default=True, show_default=True,
              help="Record the result on the revision (read by the promotion gate).")
@output_option
@pass_ctx
def validate(ctx: CliContext, /, name: str, concurrency: int, duration: str, rate: float | None,
             burstiness: float, sla: str, dataset: Path | None, input_len: int, output_len: int,
             revision: int | None, gateway_url: str | None, record: bool, output: str) -> None:
    """Load-test deployment NAME through the gateway and judge it against an SLA."""
    slos = parse_sla(sla)
    client = ctx.client()
    dep = client.deployment(name)
    number = revision or int((dep.get("revision") or {}).get("number", 0))
    rev = next((r for r in client.revisions(name) if int(r["number"]) == number), None)
    if rev is None:
        raise ModelyardError(ErrorCode.REVISION_NOT_FOUND, f"{name!r} has no revision {number}")
    url, key, verify = gateway_url or ctx.url, ctx.key() or "", ctx.verify()
    workload: Workload
    if dataset is not None:
        workload = DatasetWorkload.load(name, dataset)
    elif _is_llm(rev):
        workload = ChatWorkload(name, input_len, output_len)
    else:
        workload = OipWorkload(name, _oip_inputs(url, key, name, verify))
    spec = LoadSpec(concurrency, parse_duration(duration), rate, burstiness, number)
    driver = Driver(url, key, workload, spec, verify=verify)
    elapsed = asyncio.run(driver.run(_progress))
    click.echo("", err=True)
    figures = summarize(driver.samples, elapsed, slos)
    results = evaluate(slos, driver.samples, elapsed)
    passed = bool(driver.samples) and all(r.passed for r in results)
    command = _command(name, {"concurrency": concurrency, "duration": duration, "rate": rate,
                              "burstiness": burstiness if rate else None, "sla": sla,
                              "dataset": dataset, "input_len": input_len if _is_llm(rev) else None,
                              "output_len": output_len if _is_llm(rev) else None,
                              "revision": revision})
    slo_json = [{"objective": str(r.slo), "metric": r.slo.metric, "threshold": r.slo.threshold,
                 "value": r.value, "passed": r.passed} for r in results]
    report = {"deployment": name, "revision": number, "passed": passed, "figures": figures,
              "slos": slo_json, "command": command}
    if record:
        client.validate(name, number, passed, _summary(results, figures)[:4000],
                        figures={"figures": figures, "slos": slo_json}, command=command)
    if output == "json":
        emit_json(report)
    else:
        _table(figures, results)
        click.echo(f"\n{name} revision {number}: SLA {'met' if passed else 'NOT met'}"
                   f"{' (recorded)' if record else ''}\n{command}")
    if not passed:
        sys.exit(EXIT_SLA_FAILED)
