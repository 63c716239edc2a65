"""Discover this machine's inventory: CPU, memory and GPUs through NVML.

NVML (``nvidia-ml-py``) gives each GPU's name, UUID, memory and utilisation. A machine
without the NVIDIA driver simply has no discovered GPUs; GPUs can still be declared
(``modelyard nodes add``) for planning and for CPU-only machines.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiscoveredGpu:
    """One GPU as NVML reports it."""

    index: int
    model: str
    uuid: str
    memory_bytes: int
    used_memory_bytes: int
    utilization_percent: int


@dataclass(frozen=True)
class DiscoveredNode:
    """This machine."""

    name: str
    cpu_milli: int
    memory_mib: int
    gpus: tuple[DiscoveredGpu, ...]
    nvml_error: str | None = None


def normalize_gpu_name(name: str, memory_bytes: int) -> str:
    """``NVIDIA H100 80GB HBM3`` → ``H100-80GB`` (our catalogue's naming)."""
    words = name.replace("NVIDIA", "").replace("Tesla", "").split()
    base = words[0] if words else "GPU"
    gib = round(memory_bytes / 1024**3)
    return f"{base}-{gib}GB"


def _nvml_gpus() -> tuple[tuple[DiscoveredGpu, ...], str | None]:
    try:
        import pynvml
    except ImportError:
        return (), "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return (), f"NVML unavailable: {exc}"
    try:
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            raw = pynvml.nvmlDeviceGetName(h)
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            uuid = pynvml.nvmlDeviceGetUUID(h)
            util = pynvml.nvmlDeviceGetUtilizationRates(h)
            gpus.append(DiscoveredGpu(
                i, normalize_gpu_name(name, int(mem.total)),
                uuid.decode() if isinstance(uuid, bytes) else str(uuid),
                int(mem.total), int(mem.used), int(util.gpu)))
        return tuple(gpus), None
    finally:
        pynvml.nvmlShutdown()


def discover_local_node(name: str | None = None) -> DiscoveredNode:
    """CPU, memory and NVML GPUs of this machine."""
    pages = os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
    gpus, error = _nvml_gpus()
    if error:
        logger.info("no GPUs discovered", extra={"reason": error})
    return DiscoveredNode(name or socket.gethostname() or "local", (os.cpu_count() or 1) * 1000,
                          pages * page_size // (1024 * 1024), gpus, error)
