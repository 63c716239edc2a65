"""GPU memory planning for transformer models, from ``config.json`` alone.

``estimate_memory`` turns a Hugging Face ``config.json`` (Llama, Mistral, Qwen2, Mixtral
MoE and alike) and serving settings into a ``MemoryEstimate``: parameter count, weight
bytes, KV-cache bytes per token and in total, activation and runtime overhead, and a
plain-text explanation of the arithmetic (``modelyard plan`` prints it).
``smallest_tensor_parallel`` then picks the smallest TP degree (1, 2, 4, 8) that fits a GPU.

When a checkpoint is at hand, ``count_safetensors_parameters`` reads a safetensors header
(8-byte little-endian length, then JSON) and ``index_total_bytes`` the ``metadata.
total_size`` of ``model.safetensors.index.json``; both read metadata only, never weights.

Model (documented in docs/scheduling.md): per-GPU need = weights/TP + KV cache/TP +
activations + runtime overhead; it must stay below ``gpu_memory_utilization`` x GPU memory.
Pure: takes dicts and bytes, does no I/O.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from modelyard.domain.errors import ErrorCode, ModelyardError

GIB = 1024**3
GB = 10**9
RUNTIME_OVERHEAD_BYTES = 1 * GIB
"""Per GPU: CUDA context, cuBLAS workspaces, NCCL buffers, allocator slack."""
PREFILL_CHUNK_TOKENS = 2048
"""Tokens processed in one forward pass when sizing activations (chunked prefill)."""
TP_DEGREES = (1, 2, 4, 8)


class DType(StrEnum):
    """Weight or KV-cache number format."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"


BYTES_PER_VALUE: Mapping[DType, float] = {
    DType.FP32: 4.0, DType.FP16: 2.0, DType.BF16: 2.0, DType.FP8: 1.0, DType.INT8: 1.0,
    DType.INT4: 0.5 + 2 / 128,  # 4 bits plus one fp16 scale per group of 128
}
_HF_DTYPES: Mapping[str, DType] = {
    "float32": DType.FP32, "float16": DType.FP16, "bfloat16": DType.BF16,
    "F32": DType.FP32, "F16": DType.FP16, "BF16": DType.BF16, "F8_E4M3": DType.FP8,
    "F8_E5M2": DType.FP8, "I8": DType.INT8, "U8": DType.INT8,
}


@dataclass(frozen=True, slots=True)
class MemorySettings:
    """How the model will be served; ``max_model_len=None`` takes the config's maximum."""

    dtype: DType = DType.BF16
    kv_cache_dtype: DType | None = None
    max_model_len: int | None = None
    max_num_seqs: int = 8
    gpu_memory_utilization: float = 0.9


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """What a model needs, in bytes, before splitting over tensor-parallel ranks."""

    parameter_count: int
    weight_bytes: int
    kv_bytes_per_token: int
    kv_cache_bytes: int
    activation_bytes: int
    runtime_overhead_bytes: int
    num_attention_heads: int
    num_kv_heads: int
    gpu_memory_utilization: float
    explanation: tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        """Everything on one GPU (TP = 1)."""
        return self.per_gpu_bytes(1)

    def per_gpu_bytes(self, tensor_parallel: int) -> int:
        """Need of each GPU when split over ``tensor_parallel`` GPUs."""
        shared = (self.weight_bytes + self.kv_cache_bytes) / tensor_parallel
        return math.ceil(shared) + self.activation_bytes + self.runtime_overhead_bytes


def _int(meta: Mapping[str, object], *names: str, default: int | None = None) -> int:
    for name in names:
        value = meta.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    if default is None:
        raise ModelyardError(ErrorCode.INVALID_INPUT, f"config.json lacks {names[0]}")
    return default


@dataclass(frozen=True, slots=True)
class _Shape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    experts: int
    tied: bool
    qkv_bias: bool
    max_positions: int


def _shape(meta: Mapping[str, object]) -> _Shape:
    hidden = _int(meta, "hidden_size", "n_embd", "d_model")
    heads = _int(meta, "num_attention_heads", "n_head")
    return _Shape(
        hidden=hidden,
        layers=_int(meta, "num_hidden_layers", "n_layer"),
        heads=heads,
        kv_heads=_int(meta, "num_key_value_heads", default=heads),
        head_dim=_int(meta, "head_dim", default=hidden // heads),
        intermediate=_int(meta, "intermediate_size", default=4 * hidden),
        vocab=_int(meta, "vocab_size"),
        experts=_int(meta, "num_local_experts", "num_experts", default=1),
        tied=bool(meta.get("tie_word_embeddings", False)),
        qkv_bias=bool(meta.get("attention_bias", meta.get("model_type") == "qwen2")),
        max_positions=_int(meta, "max_position_embeddings", default=4096),
    )


def count_parameters(meta: Mapping[str, object]) -> int:
    """Parameters of a decoder-only transformer with gated MLP (SwiGLU), from its config."""
    s = _shape(meta)
    q_out, kv_out = s.heads * s.head_dim, s.kv_heads * s.head_dim
    attention = s.hidden * q_out + 2 * s.hidden * kv_out + q_out * s.hidden
    if s.qkv_bias:
        attention += q_out + 2 * kv_out
    mlp = s.experts * 3 * s.hidden * s.intermediate
    router = s.hidden * s.experts if s.experts > 1 else 0
    per_layer = attention + mlp + router + 2 * s.hidden
    embeddings = s.vocab * s.hidden * (1 if s.tied else 2)
    return s.layers * per_layer + embeddings + s.hidden


def _explain(
    s: _Shape, settings: MemorySettings, *, params: int, kv_dtype: DType, kv_tokens: int,
    estimate: tuple[int, int, int, int, int],
) -> tuple[str, ...]:
    """The arithmetic of ``estimate_memory``, one line per step."""
    weight_bytes, kv_per_token, kv_total, activation, chunk = estimate
    kv_value = BYTES_PER_VALUE[kv_dtype]
    context = kv_tokens // settings.max_num_seqs
    return (
        f"parameters: {params:,} ({params / 1e9:.2f} B)"
        + (f", {s.experts} experts" if s.experts > 1 else ""),
        (f"weights: {params:,} x {BYTES_PER_VALUE[settings.dtype]:g} bytes ({settings.dtype})"
        f" = {weight_bytes / GB:.2f} GB"),
        (f"KV cache per token: 2 (K,V) x {s.layers} layers x {s.kv_heads} KV heads x "
        f"{s.head_dim} head dim x {kv_value:g} bytes ({kv_dtype}) = {kv_per_token:,} bytes"),
        (f"KV cache: {kv_per_token:,} x {context:,} tokens x {settings.max_num_seqs} sequences"
        f" = {kv_total / GB:.2f} GB"),
        (f"activations: {chunk:,} tokens x (4 x {s.hidden} + 2 x {s.intermediate}) x 2 bytes"
        f" + logits {settings.max_num_seqs} x {s.vocab} x 4 bytes = {activation / GB:.2f} GB per GPU"),
        f"runtime overhead: {RUNTIME_OVERHEAD_BYTES / GB:.2f} GB per GPU",
        f"usable per GPU: {settings.gpu_memory_utilization:.0%} of its memory",
    )


def estimate_memory(
    meta: Mapping[str, object], settings: MemorySettings, *, parameter_count: int | None = None
) -> MemoryEstimate:
    """Estimate serving memory of the model described by ``meta`` (a config.json dict).

    Args:
        meta: the model's ``config.json`` as a dict.
        settings: dtype, context length, concurrency, KV dtype and memory utilisation.
        parameter_count: exact count from safetensors metadata, overriding the config.

    Returns:
        The estimate, with one explanation line per step of the arithmetic.
    """
    s = _shape(meta)
    params = parameter_count or count_parameters(meta)
    weight_bytes = math.ceil(params * BYTES_PER_VALUE[settings.dtype])
    kv_dtype = settings.kv_cache_dtype or (
        settings.dtype if settings.dtype in (DType.FP32, DType.FP16, DType.BF16) else DType.BF16
    )
    kv_value = BYTES_PER_VALUE[kv_dtype]
    kv_per_token = math.ceil(2 * s.layers * s.kv_heads * s.head_dim * kv_value)
    context = settings.max_model_len or s.max_positions
    kv_tokens = context * settings.max_num_seqs
    kv_total = kv_per_token * kv_tokens
    chunk = min(PREFILL_CHUNK_TOKENS, kv_tokens)
    activation = chunk * (4 * s.hidden + 2 * s.intermediate) * 2 + settings.max_num_seqs * s.vocab * 4
    lines = _explain(s, settings, params=params, kv_dtype=kv_dtype, kv_tokens=kv_tokens,
                     estimate=(weight_bytes, kv_per_token, kv_total, activation, chunk))
    return MemoryEstimate(params, weight_bytes, kv_per_token, kv_total, activation,
                          RUNTIME_OVERHEAD_BYTES, s.heads, s.kv_heads,
                          settings.gpu_memory_utilization, lines)


def is_valid_tensor_parallel(estimate: MemoryEstimate, tensor_parallel: int) -> bool:
    """Attention heads split evenly, and KV heads split evenly or replicate evenly."""
    kv = estimate.num_kv_heads
    return estimate.num_attention_heads % tensor_parallel == 0 and (
        kv % tensor_parallel == 0 or tensor_parallel % kv == 0
    )


def smallest_tensor_parallel(estimate: MemoryEstimate, gpu_memory_bytes: int) -> int | None:
    """The smallest TP degree in 1, 2, 4, 8 whose per-GPU need fits, or None."""
    usable = gpu_memory_bytes * estimate.gpu_memory_utilization
    for tp in TP_DEGREES:
        if is_valid_tensor_parallel(estimate, tp) and estimate.per_gpu_bytes(tp) <= usable:
            return tp
    return None


def explain_tensor_parallel(estimate: MemoryEstimate, gpu_memory_bytes: int) -> tuple[str, ...]:
    """One line per TP degree: need per GPU against usable memory."""
    usable = gpu_memory_bytes * estimate.gpu_memory_utilization
    lines = []
    for tp in TP_DEGREES:
        need = estimate.per_gpu_bytes(tp)
        verdict = "fits" if need <= usable else "too big"
        if not is_valid_tensor_parallel(estimate, tp):
            verdict = "heads do not split evenly"
        lines.append(f"TP={tp}: {need / GB:.2f} GB per GPU vs {usable / GB:.2f} GB usable: {verdict}")
    return tuple(lines)


def parse_safetensors_header(data: bytes) -> dict[str, object]:
    """Parse the JSON header at the start of a safetensors file (only the header bytes)."""
    if len(data) < 8:
        raise ModelyardError(ErrorCode.INVALID_INPUT, "safetensors file shorter than 8 bytes")
    (length,) = struct.unpack("<Q", data[:8])
    if len(data) < 8 + length or length > 100 * 1024 * 1024:
        raise ModelyardError(ErrorCode.INVALID_INPUT, "safetensors header truncated or too large")
    try:
        header = json.loads(data[8 : 8 + length])
    except ValueError as exc:
        raise ModelyardError(ErrorCode.INVALID_INPUT, f"bad safetensors header: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelyardError(ErrorCode.INVALID_INPUT, "safetensors header is not an object")
    return header


def count_safetensors_parameters(header: Mapping[str, object]) -> int:
    """Sum of tensor element counts in a parsed safetensors header."""
    total = 0
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, Mapping):
            continue
        shape = info.get("shape")
        if isinstance(shape, list):
            total += math.prod(int(d) for d in shape)
    return total


def index_total_bytes(index: Mapping[str, object]) -> int:
    """``metadata.total_size`` of a ``model.safetensors.index.json`` dict, in bytes."""
    metadata = index.get("metadata")
    size = metadata.get("total_size") if isinstance(metadata, Mapping) else None
    if not isinstance(size, int | float):
        raise ModelyardError(ErrorCode.INVALID_INPUT, "index has no metadata.total_size")
    return int(size)


def parameters_from_index(index: Mapping[str, object], meta: Mapping[str, object]) -> int:
    """Parameter count from an index's total size and the checkpoint dtype in config.json."""
    dtype = _HF_DTYPES.get(str(meta.get("torch_dtype", "bfloat16")), DType.BF16)
    return round(index_total_bytes(index) / BYTES_PER_VALUE[dtype])


__all__ = [
    "BYTES_PER_VALUE", "DType", "MemoryEstimate", "MemorySettings", "count_parameters",
    "count_safetensors_parameters", "estimate_memory", "explain_tensor_parallel",
    "index_total_bytes", "is_valid_tensor_parallel", "parameters_from_index",
    "parse_safetensors_header", "smallest_tensor_parallel",
]
