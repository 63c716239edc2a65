"""What modelyard asks of an engine, and the command that starts it.

``EngineSpec`` is engine-neutral; each adapter maps it to that engine's flags. Versions
matter where flags were renamed; ``version`` is the engine's release as a tuple, and
``None`` means "the newest we know".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from modelyard.domain.errors import ErrorCode, ModelyardError

Version = tuple[int, ...]


class Engine(StrEnum):
    """The engines modelyard can run."""

    VLLM = "vllm"
    TGI = "tgi"
    LLAMACPP = "llamacpp"
    TRTLLM = "trtllm"


@dataclass(frozen=True)
class SpeculativeSpec:
    """Speculative decoding: a draft model (or method) proposing ``num_tokens`` tokens."""

    num_tokens: int
    draft_model: str | None = None
    method: str | None = None  # e.g. "ngram", "eagle", "mtp" where the engine knows it


@dataclass(frozen=True)
class EngineSpec:
    """Engine-neutral launch settings of one replica."""

    model_path: str
    port: int
    host: str = "127.0.0.1"
    served_name: str | None = None
    tensor_parallel_size: int = 1
    gpu_memory_fraction: float | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    quantization: str | None = None
    kv_cache_dtype: str | None = None
    speculative: SpeculativeSpec | None = None
    gpu_ids: tuple[int, ...] = ()
    extra_args: tuple[str, ...] = ()
    version: Version | None = None

    def __post_init__(self) -> None:
        """Refuse settings no engine could take."""
        if self.tensor_parallel_size < 1:
            raise _bad("tensor_parallel_size must be ≥ 1")
        if self.gpu_ids and len(self.gpu_ids) < self.tensor_parallel_size:
            raise _bad("fewer GPU ids than tensor_parallel_size")
        if self.gpu_memory_fraction is not None and not 0 < self.gpu_memory_fraction <= 1:
            raise _bad("gpu_memory_fraction must be in (0, 1]")
        if not 0 < self.port < 65536:
            raise _bad("port must be 1..65535")


def _bad(message: str) -> ModelyardError:
    return ModelyardError(ErrorCode.INVALID_REQUEST, message)


@dataclass(frozen=True)
class EngineCommand:
    """How to start an engine and how to know it is ready."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    health_path: str = "/health"
    metrics_path: str = "/metrics"


def gpu_env(spec: EngineSpec) -> dict[str, str]:
    """``CUDA_VISIBLE_DEVICES`` for the replica's GPUs (none: leave the environment be)."""
    if not spec.gpu_ids:
        return {}
    return {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in spec.gpu_ids)}


def is_at_least(version: Version | None, minimum: Version) -> bool:
    """Whether ``version`` (None = newest) is ``minimum`` or later."""
    return version is None or version >= minimum


def opt(flag: str, value: object | None) -> list[str]:
    """``[flag, str(value)]``, or nothing when ``value`` is None."""
    return [] if value is None else [flag, str(value)]
