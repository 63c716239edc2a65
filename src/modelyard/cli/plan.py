"""``modelyard plan``: GPU memory and tensor parallelism for a model, with the arithmetic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from modelyard.cli.output import emit_json, output_option
from modelyard.domain.errors import ErrorCode, ModelyardError


def plan_report(path: Path, gpu: str, dtype: str, kv_cache_dtype: str | None,
                max_model_len: int | None, max_num_seqs: int,
                gpu_memory_utilization: float) -> dict[str, Any]:
    """Estimate memory for the model at ``path`` on ``gpu``; JSON-ready."""
    from modelyard.registry.model_files import read_model_files
    from modelyard.scheduling.gpus import lookup_gpu
    from modelyard.scheduling.memory import (
        DType,
        MemorySettings,
        estimate_memory,
        explain_tensor_parallel,
        smallest_tensor_parallel,
    )

    model = lookup_gpu(gpu)
    if model is None:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, f"unknown GPU model {gpu!r}")
    files = read_model_files(path)
    settings = MemorySettings(DType(dtype), DType(kv_cache_dtype) if kv_cache_dtype else None,
                              max_model_len, max_num_seqs, gpu_memory_utilization)
    est = estimate_memory(files.config, settings, parameter_count=files.parameter_count)
    tp = smallest_tensor_parallel(est, model.memory_bytes)
    return {
        "gpu": model.name, "gpu_memory_bytes": model.memory_bytes,
        "parameter_source": files.source, "parameter_count": est.parameter_count,
        "weight_bytes": est.weight_bytes, "kv_bytes_per_token": est.kv_bytes_per_token,
        "kv_cache_bytes": est.kv_cache_bytes, "activation_bytes": est.activation_bytes,
        "runtime_overhead_bytes": est.runtime_overhead_bytes, "total_bytes": est.total_bytes,
        "smallest_tensor_parallel": tp,
        "explanation": list(est.explanation) + list(explain_tensor_parallel(est, model.memory_bytes)),
    }


@click.command("plan")
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="A model folder (config.json, safetensors) or a config.json file.")
@click.option("--gpu", required=True, help="GPU model, e.g. H100-80GB, A100-40GB, L4-24GB.")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "bf16", "fp8", "int8", "int4"]),
              default="bf16", show_default=True)
@click.option("--kv-cache-dtype", type=click.Choice(["fp32", "fp16", "bf16", "fp8", "int8"]),
              default=None)
@click.option("--max-model-len", type=int, default=None, help="Default: the model's maximum.")
@click.option("--max-num-seqs", type=int, default=8, show_default=True)
@click.option("--gpu-memory-utilization", type=float, default=0.9, show_default=True)
@output_option
def plan(model_path: Path, gpu: str, dtype: str, kv_cache_dtype: str | None,
         max_model_len: int | None, max_num_seqs: int, gpu_memory_utilization: float,
         output: str) -> None:
    """Print the memory arithmetic and the smallest tensor-parallel size that fits."""
    report = plan_report(model_path, gpu, dtype, kv_cache_dtype, max_model_len, max_num_seqs,
                         gpu_memory_utilization)
    if output == "json":
        emit_json(report)
        return
    for line in report["explanation"]:
        click.echo(line)
    tp = report["smallest_tensor_parallel"]
    click.echo(f"=> {'does not fit on 8 ' + report['gpu'] if tp is None else f'tensor parallel {tp}'}"
               f" (parameters from {report['parameter_source']})")
