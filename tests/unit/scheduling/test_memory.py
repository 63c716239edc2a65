"""Memory planning against the real public config.json of well-known models."""

from __future__ import annotations

import json
import struct

import pytest

from modelyard.domain.errors import ModelyardError
from modelyard.scheduling.gpus import GPU_MODELS
from modelyard.scheduling.memory import (
    DType,
    MemorySettings,
    count_parameters,
    count_safetensors_parameters,
    estimate_memory,
    explain_tensor_parallel,
    index_total_bytes,
    parameters_from_index,
    parse_safetensors_header,
    smallest_tensor_parallel,
)

GB = 10**9
H100 = GPU_MODELS["H100-80GB"].memory_bytes
A100_80 = GPU_MODELS["A100-80GB"].memory_bytes

LLAMA_2_7B = {
    "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
    "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
    "intermediate_size": 11008, "max_position_embeddings": 4096, "model_type": "llama",
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
    "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None,
    "tie_word_embeddings": False, "torch_dtype": "float16", "transformers_version": "4.31.0",
    "use_cache": True, "vocab_size": 32000,
}
LLAMA_2_70B = {
    **LLAMA_2_7B, "hidden_size": 8192, "intermediate_size": 28672,
    "num_attention_heads": 64, "num_hidden_layers": 80, "num_key_value_heads": 8,
}
MISTRAL_7B = {
    "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
    "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
    "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16", "transformers_version": "4.34.0",
    "use_cache": True, "vocab_size": 32000,
}
MIXTRAL_8X7B = {
    **MISTRAL_7B, "architectures": ["MixtralForCausalLM"], "model_type": "mixtral",
    "num_local_experts": 8, "num_experts_per_tok": 2, "rope_theta": 1e6,
    "router_aux_loss_coef": 0.02, "sliding_window": None,
}
QWEN2_0_5B = {
    "architectures": ["Qwen2ForCausalLM"], "hidden_size": 896, "intermediate_size": 4864,
    "max_position_embeddings": 32768, "model_type": "qwen2", "num_attention_heads": 14,
    "num_hidden_layers": 24, "num_key_value_heads": 2, "tie_word_embeddings": True,
    "torch_dtype": "bfloat16", "vocab_size": 151936,
}


@pytest.mark.parametrize(
    ("config", "billions"),
    [(LLAMA_2_7B, 6.74), (LLAMA_2_70B, 68.98), (MISTRAL_7B, 7.24), (MIXTRAL_8X7B, 46.70),
     (QWEN2_0_5B, 0.49)],
)
def test_parameter_counts_match_published_sizes(config: dict[str, object], billions: float) -> None:
    assert count_parameters(config) / 1e9 == pytest.approx(billions, abs=0.01)


def test_llama_2_7b_fp16_weights_fit_one_24gb_gpu() -> None:
    est = estimate_memory(LLAMA_2_7B, MemorySettings(dtype=DType.FP16))
    assert est.weight_bytes / GB == pytest.approx(13.5, abs=0.1)
    assert est.weight_bytes < GPU_MODELS["L4-24GB"].memory_bytes
    assert est.kv_bytes_per_token == 2 * 32 * 32 * 128 * 2  # 0.5 MiB per token
    assert smallest_tensor_parallel(est, H100) == 1


def test_llama_2_70b_fp16_needs_tensor_parallel_on_80gb() -> None:
    est = estimate_memory(LLAMA_2_70B, MemorySettings(dtype=DType.FP16))
    tp = smallest_tensor_parallel(est, A100_80)
    assert tp is not None and tp >= 2
    assert est.per_gpu_bytes(tp) <= A100_80 * 0.9 < est.per_gpu_bytes(1)


@pytest.mark.parametrize(
    ("dtype", "ratio"),
    [(DType.FP32, 2.0), (DType.BF16, 1.0), (DType.FP8, 0.5), (DType.INT8, 0.5), (DType.INT4, 0.2578)],
)
def test_quantization_scales_weight_bytes(dtype: DType, ratio: float) -> None:
    base = estimate_memory(MISTRAL_7B, MemorySettings(dtype=DType.BF16)).weight_bytes
    est = estimate_memory(MISTRAL_7B, MemorySettings(dtype=dtype))
    assert est.weight_bytes / base == pytest.approx(ratio, rel=0.01)


def test_kv_cache_scales_with_context_sequences_and_dtype() -> None:
    small = estimate_memory(MISTRAL_7B, MemorySettings(max_model_len=4096, max_num_seqs=1))
    big = estimate_memory(MISTRAL_7B, MemorySettings(max_model_len=8192, max_num_seqs=4))
    fp8 = estimate_memory(MISTRAL_7B, MemorySettings(max_model_len=4096, max_num_seqs=1,
                                                     kv_cache_dtype=DType.FP8))
    assert small.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2
    assert big.kv_cache_bytes == 8 * small.kv_cache_bytes
    assert fp8.kv_cache_bytes * 2 == small.kv_cache_bytes


def test_mixtral_needs_more_than_one_80gb_gpu_in_bf16() -> None:
    est = estimate_memory(MIXTRAL_8X7B, MemorySettings(max_model_len=4096))
    assert est.weight_bytes / GB == pytest.approx(93.4, abs=0.5)
    assert smallest_tensor_parallel(est, H100) == 2
    assert smallest_tensor_parallel(est, GPU_MODELS["H200-141GB"].memory_bytes) == 1


def test_tp_respects_head_divisibility_and_can_fail() -> None:
    est = estimate_memory(QWEN2_0_5B, MemorySettings(max_model_len=2048))
    assert smallest_tensor_parallel(est, 1 * 10**9) is None  # 14 heads: no TP 4 or 8
    lines = explain_tensor_parallel(est, 1 * 10**9)
    assert "heads do not split evenly" in lines[2]


def test_explanation_shows_the_arithmetic() -> None:
    est = estimate_memory(LLAMA_2_7B, MemorySettings(dtype=DType.FP16))
    text = "\n".join(est.explanation)
    assert "6,738,415,616" in text and "13.48 GB" in text and "524,288 bytes" in text


def _safetensors(header: dict[str, object]) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * 16


def test_safetensors_header_counts_parameters_without_weights() -> None:
    header = {
        "__metadata__": {"format": "pt"},
        "embed.weight": {"dtype": "BF16", "shape": [32000, 4096], "data_offsets": [0, 8]},
        "norm.weight": {"dtype": "BF16", "shape": [4096], "data_offsets": [8, 16]},
    }
    parsed = parse_safetensors_header(_safetensors(header))
    assert count_safetensors_parameters(parsed) == 32000 * 4096 + 4096
    est = estimate_memory(LLAMA_2_7B, MemorySettings(), parameter_count=7_000_000_000)
    assert est.parameter_count == 7_000_000_000


@pytest.mark.parametrize("data", [b"", b"\xff" * 8 + b"{}", struct.pack("<Q", 2) + b"[]"])
def test_bad_safetensors_headers_are_refused(data: bytes) -> None:
    with pytest.raises(ModelyardError):
        parse_safetensors_header(data)


def test_index_total_size_gives_parameters() -> None:
    index = {"metadata": {"total_size": 13_476_839_424}, "weight_map": {}}
    assert index_total_bytes(index) == 13_476_839_424
    assert parameters_from_index(index, LLAMA_2_7B) == 6_738_419_712
    with pytest.raises(ModelyardError):
        index_total_bytes({"weight_map": {}})
