"""Catalogue of known GPU models and their memory, so inventories and plans agree on names.

Names are ``<family>-<memory>GB``. Memory is the usable device memory in bytes as the
vendor states it (GiB-based for datacenter parts, as NVML reports). Unknown models are
allowed everywhere else in modelyard; the catalogue only supplies defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

GIB = 1024**3


@dataclass(frozen=True, slots=True)
class GpuModel:
    """A GPU model: catalogue name, memory in bytes and whether it supports FP8 natively."""

    name: str
    memory_bytes: int
    fp8: bool = False


def _gpu(name: str, gib: int, *, fp8: bool = False) -> tuple[str, GpuModel]:
    return name, GpuModel(name, gib * GIB, fp8)


GPU_MODELS: Mapping[str, GpuModel] = MappingProxyType(
    dict(
        [
            _gpu("H200-141GB", 141, fp8=True),
            _gpu("H100-80GB", 80, fp8=True),
            _gpu("H100-94GB", 94, fp8=True),
            _gpu("A100-80GB", 80),
            _gpu("A100-40GB", 40),
            _gpu("L40S-48GB", 48, fp8=True),
            _gpu("L40-48GB", 48, fp8=True),
            _gpu("A10-24GB", 24),
            _gpu("A10G-24GB", 24),
            _gpu("L4-24GB", 24, fp8=True),
            _gpu("T4-16GB", 16),
            _gpu("V100-16GB", 16),
            _gpu("V100-32GB", 32),
            _gpu("P100-16GB", 16),
            _gpu("RTX4090-24GB", 24, fp8=True),
            _gpu("RTX3090-24GB", 24),
            _gpu("A6000-48GB", 48),
        ]
    )
)
"""Known GPU models by catalogue name."""

_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "T4": "T4-16GB",
        "A10": "A10-24GB",
        "P100": "P100-16GB",
        "V100M16": "V100-16GB",
        "V100M32": "V100-32GB",
        "H100": "H100-80GB",
        "H200": "H200-141GB",
        "L40S": "L40S-48GB",
        "L4": "L4-24GB",
        "RTX4090": "RTX4090-24GB",
    }
)


def lookup_gpu(name: str) -> GpuModel | None:
    """Return the catalogue entry for ``name`` or a known short alias (``T4``), else None."""
    return GPU_MODELS.get(name) or GPU_MODELS.get(_ALIASES.get(name, ""))


def gpu_memory_bytes(name: str, default: int = 0) -> int:
    """Return the memory of GPU model ``name`` in bytes, or ``default`` when unknown."""
    model = lookup_gpu(name)
    return model.memory_bytes if model else default


__all__ = ["GIB", "GPU_MODELS", "GpuModel", "gpu_memory_bytes", "lookup_gpu"]
