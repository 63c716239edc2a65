"""Hugging Face Text Generation Inference (``text-generation-launcher``).

Flags as documented for the launcher: ``--model-id``, ``--num-shard``,
``--cuda-memory-fraction``, ``--max-total-tokens``, ``--max-concurrent-requests``,
``--quantize``, ``--speculate``, ``--hostname``, ``--port``. The prompt limit is
``--max-input-tokens`` since 2.0 (``--max-input-length`` before); ``--kv-cache-dtype``
exists from 2.3. ``max_model_len`` maps to ``--max-total-tokens`` (prompt + output) and
the input limit is set one below it. Health is ``GET /health``; metrics at ``/metrics``
have a ``tgi_`` prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from modelyard.runtimes.engines.spec import (
    EngineCommand,
    EngineSpec,
    gpu_env,
    is_at_least,
    opt,
)

EXECUTABLE = "text-generation-launcher"
HEALTH_PATH = "/health"
MAX_INPUT_TOKENS_SINCE = (2, 0)
KV_CACHE_DTYPE_SINCE = (2, 3)

METRICS: Mapping[str, str] = MappingProxyType({
    "tgi_request_mean_time_per_token_duration": "tpot",
    "tgi_batch_current_size": "running",
    "tgi_queue_size": "waiting",
})
"""Engine family → modelyard signal. TGI exports no TTFT or KV-cache usage directly."""


def _limits(spec: EngineSpec) -> list[str]:
    if spec.max_model_len is None:
        return []
    input_flag = ("--max-input-tokens" if is_at_least(spec.version, MAX_INPUT_TOKENS_SINCE)
                  else "--max-input-length")
    return ["--max-total-tokens", str(spec.max_model_len),
            input_flag, str(max(1, spec.max_model_len - 1))]


def _kv_cache(spec: EngineSpec) -> list[str]:
    if spec.kv_cache_dtype is None or not is_at_least(spec.version, KV_CACHE_DTYPE_SINCE):
        return []
    return ["--kv-cache-dtype", spec.kv_cache_dtype]


def build_command(spec: EngineSpec) -> EngineCommand:
    """The ``text-generation-launcher`` command for ``spec``."""
    argv = [
        EXECUTABLE, "--model-id", spec.model_path,
        "--hostname", spec.host, "--port", str(spec.port),
        "--num-shard", str(spec.tensor_parallel_size),
        *opt("--cuda-memory-fraction", spec.gpu_memory_fraction),
        *_limits(spec),
        *opt("--max-concurrent-requests", spec.max_num_seqs),
        *opt("--quantize", spec.quantization),
        *_kv_cache(spec),
        *opt("--speculate", spec.speculative.num_tokens if spec.speculative else None),
        *spec.extra_args,
    ]
    return EngineCommand(tuple(argv), gpu_env(spec), HEALTH_PATH)
