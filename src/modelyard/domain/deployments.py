"""Deployment and Revision: a serving endpoint and the immutable specs it has run.

The deployment holds what may change without a new revision (desired replica count);
each revision freezes what its replicas run (model version, artifact, runtime).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

ENGINES: tuple[str, ...] = ("vllm", "tgi", "llamacpp", "trtllm")


class Environment(StrEnum):
    """Where a deployment lives; production changes need more rights."""

    DEV = "dev"
    STAGING = "staging"
    PRODUCTION = "production"


@dataclass(frozen=True)
class EngineSettings:
    """Engine-neutral settings of an engine replica (vLLM, TGI, llama.cpp, TensorRT-LLM)."""

    tensor_parallel_size: int = 1
    gpu_memory_fraction: float | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    quantization: str | None = None
    kv_cache_dtype: str | None = None
    speculative_model: str | None = None
    num_speculative_tokens: int | None = None
    extra_args: tuple[str, ...] = field(default_factory=tuple)
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form for storage."""
        out = asdict(self)
        out["extra_args"] = list(self.extra_args)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EngineSettings:
        """Parse the stored form (unknown keys are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["extra_args"] = tuple(known.get("extra_args") or ())
        return cls(**known)


@dataclass(frozen=True)
class Resources:
    """What each replica of a revision asks the scheduler for.

    ``gpu_count`` whole GPUs on one node (tensor parallelism), or one GPU shared at
    ``gpu_milli`` (< 1000) of it; ``gpu_models`` restricts the models (empty: any).
    """

    gpu_count: int = 0
    gpu_milli: int = 1000
    gpu_memory_bytes: int = 0
    gpu_models: tuple[str, ...] = ()
    cpu_milli: int = 0
    memory_mib: int = 0
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[tuple[str, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form for storage."""
        out = asdict(self)
        out["gpu_models"] = list(self.gpu_models)
        out["node_selector"] = dict(self.node_selector)
        out["tolerations"] = [list(t) for t in self.tolerations]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Resources:
        """Parse the stored form."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["gpu_models"] = tuple(known.get("gpu_models") or ())
        known["node_selector"] = tuple(sorted((known.get("node_selector") or {}).items()))
        known["tolerations"] = tuple((k, v) for k, v in known.get("tolerations") or ())
        return cls(**known)


@dataclass(frozen=True)
class RevisionSpec:
    """What every replica of a revision runs."""

    model: str
    version: int
    alias: str | None
    framework: str
    digest: str
    artifact_name: str
    max_batch_size: int | None = None
    max_batch_delay_ms: float | None = None
    instances: int | None = None  # model instances per replica (None: the runtime's default)
    compile: bool = False  # compile the forward graph at load (runtimes that can)
    engine: str | None = None
    engine_settings: EngineSettings | None = None
    replicas: int | None = None
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class Revision:
    """An immutable, numbered spec of a deployment."""

    deployment: str
    number: int
    spec: RevisionSpec
    created_at: datetime
    created_by: str
    message: str


@dataclass(frozen=True)
class Deployment:
    """A serving endpoint in an environment, owned by a team."""

    name: str
    team: str
    environment: Environment
    desired_replicas: int
    current_revision: int
    created_at: datetime
    updated_at: datetime
    deleting: bool = False
    version: int = 1
