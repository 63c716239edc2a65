"""llama.cpp's HTTP server (``llama-server``) for GGUF models.

Flags as documented for ``llama-server``: ``--model``, ``--host``, ``--port``,
``--ctx-size``, ``--parallel`` (slots), ``--n-gpu-layers``, ``--cache-type-k`` /
``--cache-type-v``, ``--model-draft`` / ``--draft-max``, ``--alias``, and ``--metrics``
to enable ``/metrics``. llama.cpp splits layers across visible GPUs itself, so
``tensor_parallel_size`` only selects GPUs through ``CUDA_VISIBLE_DEVICES``; all layers
are offloaded when a GPU is given. Quantization is a property of the GGUF file.
Health is ``GET /health``; metrics have a ``llamacpp:`` prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from modelyard.runtimes.engines.spec import EngineCommand, EngineSpec, gpu_env, opt

EXECUTABLE = "llama-server"
HEALTH_PATH = "/health"
ALL_LAYERS = 999

METRICS: Mapping[str, str] = MappingProxyType({
    "llamacpp:requests_processing": "running",
    "llamacpp:requests_deferred": "waiting",
    "llamacpp:kv_cache_usage_ratio": "kv_cache_usage",
})
"""Engine family → modelyard signal (llama.cpp exports counters, not latency histograms)."""


def build_command(spec: EngineSpec) -> EngineCommand:
    """The ``llama-server`` command for ``spec``."""
    draft = spec.speculative
    kv = spec.kv_cache_dtype
    argv = [
        EXECUTABLE, "--model", spec.model_path,
        "--host", spec.host, "--port", str(spec.port),
        *opt("--alias", spec.served_name),
        *opt("--ctx-size", spec.max_model_len),
        *opt("--parallel", spec.max_num_seqs),
        *(["--n-gpu-layers", str(ALL_LAYERS)] if spec.gpu_ids else []),
        *(["--cache-type-k", kv, "--cache-type-v", kv] if kv else []),
        *(opt("--model-draft", draft.draft_model) if draft else []),
        *(["--draft-max", str(draft.num_tokens)] if draft else []),
        "--metrics",
        *spec.extra_args,
    ]
    return EngineCommand(tuple(argv), gpu_env(spec), HEALTH_PATH)
