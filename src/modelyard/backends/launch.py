"""Pure: a revision's spec and a stored artifact path become a LaunchSpec."""

from __future__ import annotations

from modelyard.backends.base import LaunchSpec
from modelyard.domain.deployments import RevisionSpec

REPLICA_MODULE = "modelyard.runtimes.server"


def build_launch_spec(
    replica_id: str, deployment: str, spec: RevisionSpec, artifact_path: str,
    *, max_body_bytes: int,
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
    # Offline model loading; no busy-waiting OpenMP threads (they double p99 on small CPUs).
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
           "TOKENIZERS_PARALLELISM": "false", "OMP_WAIT_POLICY": "PASSIVE"}
    return LaunchSpec(replica_id=replica_id, deployment=deployment, argv=argv, env=env)
