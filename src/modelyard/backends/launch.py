"""Pure: a revision's spec and a stored artifact path become a LaunchSpec.

Built-in runtimes run as ``python -m modelyard.runtimes.server`` with a socket the backend
binds. Engine revisions (vLLM, TGI, llama.cpp, TensorRT-LLM) run the engine's own command,
built by ``runtimes.engines`` (pure argv builders), on a port the backend reserved.
"""

from __future__ import annotations

from modelyard.backends.base import LaunchSpec
from modelyard.domain.deployments import EngineSettings, RevisionSpec
from modelyard.runtimes.engines.catalog import build_command
from modelyard.runtimes.engines.spec import Engine, EngineSpec, SpeculativeSpec

REPLICA_MODULE = "modelyard.runtimes.server"


def build_launch_spec(
    replica_id: str, deployment: str, spec: RevisionSpec, artifact_path: str,
    *, max_body_bytes: int, gpu_ids: tuple[int, ...] = (),
) -> LaunchSpec:
    """Return the command that serves ``spec`` as deployment ``deployment``."""
    argv: tuple[str, ...] = (
        "-m", REPLICA_MODULE,
        "--model-name", deployment,
        "--model-version", str(spec.version),
        "--artifact", artifact_path,
        "--digest", spec.digest,
        "--framework", spec.framework,
        "--max-body-bytes", str(max_body_bytes),
    )
    if spec.max_batch_size is not None:
        argv += ("--max-batch-size", str(spec.max_batch_size))
    if spec.max_batch_delay_ms is not None:
        argv += ("--max-batch-delay-ms", f"{spec.max_batch_delay_ms:g}")
    if spec.instances is not None:
        argv += ("--instances", str(spec.instances))
    if spec.compile:
        argv += ("--compile",)
    # Offline model loading; no busy-waiting OpenMP threads (they double p99 on small CPUs).
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
           "TOKENIZERS_PARALLELISM": "false", "OMP_WAIT_POLICY": "PASSIVE"}
    if gpu_ids:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpu_ids)
    return LaunchSpec(replica_id=replica_id, deployment=deployment, argv=argv, env=env)


def _version(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def build_engine_launch_spec(
    replica_id: str, deployment: str, spec: RevisionSpec, artifact_path: str, *, port: int,
    gpu_ids: tuple[int, ...] = (),
) -> LaunchSpec:
    """Return the engine command that serves ``spec`` as ``deployment`` on ``port``."""
    assert spec.engine is not None
    s = spec.engine_settings or EngineSettings()
    speculative = None
    if s.num_speculative_tokens:
        speculative = SpeculativeSpec(s.num_speculative_tokens, s.speculative_model)
    engine_spec = EngineSpec(
        model_path=artifact_path, port=port, served_name=deployment,
        tensor_parallel_size=s.tensor_parallel_size, gpu_memory_fraction=s.gpu_memory_fraction,
        max_model_len=s.max_model_len, max_num_seqs=s.max_num_seqs,
        quantization=s.quantization, kv_cache_dtype=s.kv_cache_dtype, speculative=speculative,
        gpu_ids=gpu_ids, extra_args=s.extra_args, version=_version(s.version))
    command = build_command(Engine(spec.engine), engine_spec)
    return LaunchSpec(replica_id=replica_id, deployment=deployment, argv=command.argv[1:],
                      env=dict(command.env), health_path=command.health_path,
                      program=command.argv[0], port=port)
