"""Engine command construction, per engine and per version where flags differ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.engines.catalog import ADAPTERS, build_command
from modelyard.runtimes.engines.install import check_installed
from modelyard.runtimes.engines.spec import Engine, EngineSpec, SpeculativeSpec

FULL = EngineSpec(
    model_path="/models/llama", port=8123, served_name="llama", tensor_parallel_size=2,
    gpu_memory_fraction=0.85, max_model_len=4096, max_num_seqs=64, quantization="awq",
    kv_cache_dtype="fp8", gpu_ids=(2, 3), extra_args=("--enable-prefix-caching",),
)


def flag(argv: tuple[str, ...], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_vllm_serve_flags() -> None:
    cmd = build_command(Engine.VLLM, FULL)
    assert cmd.argv[:3] == ("vllm", "serve", "/models/llama")
    assert flag(cmd.argv, "--tensor-parallel-size") == "2"
    assert flag(cmd.argv, "--gpu-memory-utilization") == "0.85"
    assert flag(cmd.argv, "--max-model-len") == "4096"
    assert flag(cmd.argv, "--max-num-seqs") == "64"
    assert flag(cmd.argv, "--quantization") == "awq"
    assert flag(cmd.argv, "--kv-cache-dtype") == "fp8"
    assert flag(cmd.argv, "--served-model-name") == "llama"
    assert (flag(cmd.argv, "--host"), flag(cmd.argv, "--port")) == ("127.0.0.1", "8123")
    assert cmd.argv[-1] == "--enable-prefix-caching"
    assert cmd.env == {"CUDA_VISIBLE_DEVICES": "2,3"} and cmd.health_path == "/health"


@pytest.mark.parametrize(("version", "expected"), [
    ((0, 7, 3), ["--speculative-model", "/draft", "--num-speculative-tokens", "4"]),
    ((0, 8, 0), ["--speculative-config",
                 json.dumps({"model": "/draft", "num_speculative_tokens": 4}, sort_keys=True)]),
    (None, ["--speculative-config",
            json.dumps({"model": "/draft", "num_speculative_tokens": 4}, sort_keys=True)]),
])
def test_vllm_speculative_flags_by_version(version: tuple[int, ...] | None,
                                           expected: list[str]) -> None:
    spec = EngineSpec("/m", 8000, speculative=SpeculativeSpec(4, draft_model="/draft"),
                      version=version)
    argv = list(build_command(Engine.VLLM, spec).argv)
    start = argv.index(expected[0])
    assert argv[start:start + len(expected)] == expected


@pytest.mark.parametrize(("version", "input_flag", "has_kv"), [
    ((1, 4, 5), "--max-input-length", False),
    ((2, 0, 0), "--max-input-tokens", False),
    ((2, 3, 0), "--max-input-tokens", True),
    (None, "--max-input-tokens", True),
])
def test_tgi_flags_by_version(version: tuple[int, ...] | None, input_flag: str,
                              has_kv: bool) -> None:
    spec = EngineSpec("/models/llama", 8124, max_model_len=4096, max_num_seqs=32,
                      tensor_parallel_size=2, gpu_memory_fraction=0.9, kv_cache_dtype="fp8_e5m2",
                      quantization="gptq", speculative=SpeculativeSpec(2), gpu_ids=(0, 1),
                      version=version)
    argv = build_command(Engine.TGI, spec).argv
    assert argv[:3] == ("text-generation-launcher", "--model-id", "/models/llama")
    assert flag(argv, "--max-total-tokens") == "4096"
    assert flag(argv, input_flag) == "4095"
    assert flag(argv, "--num-shard") == "2"
    assert flag(argv, "--cuda-memory-fraction") == "0.9"
    assert flag(argv, "--max-concurrent-requests") == "32"
    assert flag(argv, "--quantize") == "gptq"
    assert flag(argv, "--speculate") == "2"
    assert flag(argv, "--hostname") == "127.0.0.1"
    assert ("--kv-cache-dtype" in argv) is has_kv


def test_llamacpp_flags() -> None:
    spec = EngineSpec("/models/q4.gguf", 8125, max_model_len=8192, max_num_seqs=4,
                      kv_cache_dtype="q8_0", gpu_ids=(1,),
                      speculative=SpeculativeSpec(8, draft_model="/models/draft.gguf"))
    cmd = build_command(Engine.LLAMACPP, spec)
    argv = cmd.argv
    assert argv[:3] == ("llama-server", "--model", "/models/q4.gguf")
    assert flag(argv, "--ctx-size") == "8192" and flag(argv, "--parallel") == "4"
    assert flag(argv, "--cache-type-k") == flag(argv, "--cache-type-v") == "q8_0"
    assert flag(argv, "--model-draft") == "/models/draft.gguf"
    assert flag(argv, "--draft-max") == "8"
    assert "--n-gpu-layers" in argv and "--metrics" in argv
    assert cmd.env == {"CUDA_VISIBLE_DEVICES": "1"}


def test_llamacpp_on_cpu_offloads_nothing() -> None:
    argv = build_command(Engine.LLAMACPP, EngineSpec("/m.gguf", 9000)).argv
    assert "--n-gpu-layers" not in argv


def test_trtllm_flags_and_refusals() -> None:
    spec = EngineSpec("/models/llama", 8126, tensor_parallel_size=4, max_num_seqs=128,
                      max_model_len=8192, gpu_memory_fraction=0.9, gpu_ids=(0, 1, 2, 3))
    cmd = build_command(Engine.TRTLLM, spec)
    assert cmd.argv[:2] == ("trtllm-serve", "/models/llama")
    assert flag(cmd.argv, "--tp_size") == "4"
    assert flag(cmd.argv, "--max_batch_size") == "128"
    assert flag(cmd.argv, "--max_seq_len") == "8192"
    assert flag(cmd.argv, "--kv_cache_free_gpu_memory_fraction") == "0.9"
    assert cmd.metrics_path == "/prometheus/metrics"
    with pytest.raises(ModelyardError):
        build_command(Engine.TRTLLM, EngineSpec("/m", 8000, kv_cache_dtype="fp8"))


@pytest.mark.parametrize("kwargs", [
    {"tensor_parallel_size": 0},
    {"tensor_parallel_size": 2, "gpu_ids": (0,)},
    {"gpu_memory_fraction": 1.5},
    {"port": 0},
])
def test_impossible_specs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ModelyardError) as info:
        EngineSpec("/m", **{"port": 8000, **kwargs})  # type: ignore[arg-type]
    assert info.value.code == ErrorCode.INVALID_REQUEST


def test_no_gpu_ids_leave_cuda_visible_devices_alone() -> None:
    for engine in Engine:
        assert build_command(engine, EngineSpec("/m", 8000)).env == {}


@pytest.mark.parametrize("engine", list(Engine))
def test_check_installed_reports_a_missing_engine(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ModelyardError) as info:
        check_installed(engine, path=str(tmp_path))
    assert info.value.code == ErrorCode.ENGINE_UNAVAILABLE
    assert ADAPTERS[engine].executable in info.value.message


def test_check_installed_finds_an_executable(tmp_path: Path) -> None:
    exe = tmp_path / "llama-server"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    check_installed(Engine.LLAMACPP, path=str(tmp_path))
