"""vLLM's OpenAI server (``vllm serve``).

Flags as documented for ``vllm serve``: ``--tensor-parallel-size``,
``--gpu-memory-utilization``, ``--max-model-len``, ``--max-num-seqs``, ``--quantization``,
``--kv-cache-dtype``, ``--served-model-name``. Speculative decoding moved from
``--speculative-model``/``--num-speculative-tokens`` (before 0.8) to one JSON
``--speculative-config`` (0.8 and later). Health is ``GET /health``; metrics are
Prometheus text at ``/metrics`` with a ``vllm:`` prefix (the KV-cache gauge was renamed
from ``gpu_cache_usage_perc`` to ``kv_cache_usage_perc`` in 0.10, and the per-token
histogram from ``time_per_output_token_seconds`` to ``inter_token_latency_seconds``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from modelyard.runtimes.engines.spec import (
    EngineCommand,
    EngineSpec,
    gpu_env,
    is_at_least,
    opt,
)

EXECUTABLE = "vllm"
HEALTH_PATH = "/health"
SPECULATIVE_CONFIG_SINCE = (0, 8)

METRICS: Mapping[str, str] = MappingProxyType({
    "vllm:time_to_first_token_seconds": "ttft",
    "vllm:time_per_output_token_seconds": "tpot",
    "vllm:inter_token_latency_seconds": "tpot",
    "vllm:num_requests_running": "running",
    "vllm:num_requests_waiting": "waiting",
    "vllm:gpu_cache_usage_perc": "kv_cache_usage",
    "vllm:kv_cache_usage_perc": "kv_cache_usage",
})
"""Engine family → modelyard signal (``ENGINE_METRIC_NAMES`` key)."""


def _speculative(spec: EngineSpec) -> list[str]:
    s = spec.speculative
    if s is None:
        return []
    if is_at_least(spec.version, SPECULATIVE_CONFIG_SINCE):
        config: dict[str, object] = {"num_speculative_tokens": s.num_tokens}
        if s.draft_model:
            config["model"] = s.draft_model
        if s.method:
            config["method"] = s.method
        return ["--speculative-config", json.dumps(config, sort_keys=True)]
    return [*opt("--speculative-model", s.draft_model or s.method),
            "--num-speculative-tokens", str(s.num_tokens)]


def build_command(spec: EngineSpec) -> EngineCommand:
    """The ``vllm serve`` command for ``spec``."""
    argv = [
        EXECUTABLE, "serve", spec.model_path,
        "--host", spec.host, "--port", str(spec.port),
        *opt("--served-model-name", spec.served_name),
        "--tensor-parallel-size", str(spec.tensor_parallel_size),
        *opt("--gpu-memory-utilization", spec.gpu_memory_fraction),
        *opt("--max-model-len", spec.max_model_len),
        *opt("--max-num-seqs", spec.max_num_seqs),
        *opt("--quantization", spec.quantization),
        *opt("--kv-cache-dtype", spec.kv_cache_dtype),
        *_speculative(spec),
        *spec.extra_args,
    ]
    return EngineCommand(tuple(argv), gpu_env(spec), HEALTH_PATH)
