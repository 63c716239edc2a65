"""TensorRT-LLM's OpenAI server (``trtllm-serve``).

Flags as documented for ``trtllm-serve MODEL``: ``--host``, ``--port``, ``--backend``
(``pytorch``), ``--tp_size``, ``--max_batch_size``, ``--max_seq_len`` and
``--kv_cache_free_gpu_memory_fraction``. Quantization comes with the checkpoint; KV-cache
dtype and speculative decoding are set in the YAML given to ``--extra_llm_api_options``
(pass it through ``extra_args``; asking for them here is refused, not ignored). Health is
``GET /health``; Prometheus metrics are at ``/prometheus/metrics`` with a ``trtllm_``
prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.engines.spec import EngineCommand, EngineSpec, gpu_env, opt

EXECUTABLE = "trtllm-serve"
HEALTH_PATH = "/health"
METRICS_PATH = "/prometheus/metrics"

METRICS: Mapping[str, str] = MappingProxyType({
    "trtllm_time_to_first_token_seconds": "ttft",
    "trtllm_time_per_output_token_seconds": "tpot",
    "trtllm_num_requests_running": "running",
    "trtllm_num_requests_waiting": "waiting",
    "trtllm_kv_cache_utilization": "kv_cache_usage",
})
"""Engine family → modelyard signal."""


def build_command(spec: EngineSpec) -> EngineCommand:
    """The ``trtllm-serve`` command for ``spec``."""
    if spec.kv_cache_dtype or spec.speculative:
        raise ModelyardError(
            ErrorCode.INVALID_REQUEST,
            "trtllm-serve takes KV-cache dtype and speculative decoding from the YAML of "
            "--extra_llm_api_options; pass it in extra_args",
        )
    argv = [
        EXECUTABLE, spec.model_path,
        "--host", spec.host, "--port", str(spec.port),
        "--backend", "pytorch",
        "--tp_size", str(spec.tensor_parallel_size),
        *opt("--max_batch_size", spec.max_num_seqs),
        *opt("--max_seq_len", spec.max_model_len),
        *opt("--kv_cache_free_gpu_memory_fraction", spec.gpu_memory_fraction),
        *spec.extra_args,
    ]
    return EngineCommand(tuple(argv), gpu_env(spec), HEALTH_PATH, METRICS_PATH)
