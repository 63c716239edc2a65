"""Engine revisions become the engine's own command on a reserved port."""

from __future__ import annotations

from modelyard.backends.launch import build_engine_launch_spec, build_launch_spec
from modelyard.domain.deployments import EngineSettings, RevisionSpec

BASE = RevisionSpec("llama", 3, None, "transformers", "sha256:" + "a" * 64, "model")


def test_vllm_revision_becomes_vllm_serve() -> None:
    spec = RevisionSpec(**{**BASE.__dict__, "engine": "vllm", "engine_settings": EngineSettings(
        tensor_parallel_size=2, gpu_memory_fraction=0.9, max_model_len=4096, max_num_seqs=64,
        quantization="awq", kv_cache_dtype="fp8", extra_args=("--enforce-eager",))})
    launch = build_engine_launch_spec("r1", "chat", spec, "/store/model", port=9001,
                                      gpu_ids=(2, 3))
    assert launch.program == "vllm" and launch.port == 9001
    argv = list(launch.argv)
    assert argv[:2] == ["serve", "/store/model"]
    for flag, value in [("--port", "9001"), ("--served-model-name", "chat"),
                        ("--tensor-parallel-size", "2"), ("--gpu-memory-utilization", "0.9"),
                        ("--max-model-len", "4096"), ("--max-num-seqs", "64"),
                        ("--quantization", "awq"), ("--kv-cache-dtype", "fp8")]:
        assert argv[argv.index(flag) + 1] == value
    assert argv[-1] == "--enforce-eager"
    assert launch.env["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert launch.health_path == "/health"


def test_llamacpp_and_builtin() -> None:
    gguf = RevisionSpec("tiny", 1, None, "gguf", "sha256:" + "b" * 64, "tiny.gguf",
                        engine="llamacpp")
    launch = build_engine_launch_spec("r2", "tiny", gguf, "/store/tiny.gguf", port=9002)
    assert launch.program == "llama-server" and "/store/tiny.gguf" in launch.argv
    builtin = build_launch_spec("r3", "iris", BASE, "/store/model", max_body_bytes=10)
    assert builtin.program is None and builtin.argv[:2] == ("-m", "modelyard.runtimes.server")


def test_engine_settings_json_roundtrip() -> None:
    s = EngineSettings(tensor_parallel_size=4, extra_args=("--x", "1"), version="0.8.1")
    assert EngineSettings.from_json(s.to_json()) == s
    assert EngineSettings.from_json({"tensor_parallel_size": 2, "unknown": 1}) == EngineSettings(2)


def test_batching_settings_and_instances_reach_the_replica_command_line() -> None:
    from dataclasses import replace

    spec = replace(BASE, max_batch_size=32, max_batch_delay_ms=2.5, instances=2)
    argv = build_launch_spec("r4", "minilm", spec, "/store/model", max_body_bytes=10).argv
    flags = dict(zip(argv[::2], argv[1::2], strict=False))
    assert (flags["--max-batch-size"], flags["--max-batch-delay-ms"], flags["--instances"]) == \
        ("32", "2.5", "2")
    assert "--instances" not in build_launch_spec("r5", "iris", BASE, "/m", max_body_bytes=10).argv


def test_compile_reaches_the_replica_command_line_only_when_asked() -> None:
    from dataclasses import replace

    argv = build_launch_spec("r6", "minilm", replace(BASE, compile=True), "/m",
                             max_body_bytes=10).argv
    assert "--compile" in argv
    assert "--compile" not in build_launch_spec("r7", "iris", BASE, "/m", max_body_bytes=10).argv
