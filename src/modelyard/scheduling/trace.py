"""Reader of the Alibaba GPU cluster trace 2023 (``openb``) CSV format.

Nodes: ``sn,cpu_milli,memory_mib,gpu,model``. Tasks: ``name,cpu_milli,memory_mib,num_gpu,
gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time``. A task
becomes a ``ResourceRequest``: ``num_gpu`` whole GPUs at ``gpu_milli`` each (a share of
one GPU when ``gpu_milli < 1000``), ``gpu_spec`` (``|``-separated, empty = any) as the
allowed GPU models. GPU model names are kept as the trace writes them (``G2``, ``T4``,
``V100M32``) so that ``gpu_spec`` matches; memory comes from ``gpus`` where known.

Parsing is pure over lines of text; ``read_nodes``/``read_tasks`` only open the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.inventory import (
    GPU_MILLI,
    Gpu,
    InventorySnapshot,
    Node,
    ResourceRequest,
)
from modelyard.scheduling.gpus import gpu_memory_bytes

NODE_FILE = "openb_node_list_gpu_node.csv"
TASK_FILE = "openb_pod_list_default.csv"


@dataclass(frozen=True, slots=True)
class TraceTask:
    """One task of the trace: its request and its recorded times (seconds from start)."""

    name: str
    request: ResourceRequest
    qos: str
    creation_time_s: int | None
    deletion_time_s: int | None


def _int(value: str | None) -> int | None:
    return int(float(value)) if value not in (None, "") else None


def _bad(kind: str, row: dict[str, str], exc: Exception) -> ModelyardError:
    return ModelyardError(ErrorCode.INVALID_INPUT, f"bad {kind} row {row}: {exc}")


def parse_nodes(lines: Iterable[str]) -> tuple[Node, ...]:
    """Parse node rows into nodes with ``gpu`` GPUs of ``model`` each."""
    nodes: list[Node] = []
    for row in csv.DictReader(lines):
        try:
            model = row["model"] or "none"
            memory = gpu_memory_bytes(model)
            gpus = tuple(Gpu(i, model, memory) for i in range(int(row["gpu"])))
            nodes.append(Node(row["sn"], gpus, int(row["cpu_milli"]), int(row["memory_mib"])))
        except (KeyError, ValueError) as exc:
            raise _bad("node", row, exc) from exc
    return tuple(nodes)


def parse_tasks(lines: Iterable[str]) -> tuple[TraceTask, ...]:
    """Parse task rows into replica requests."""
    tasks: list[TraceTask] = []
    for row in csv.DictReader(lines):
        try:
            count = int(row["num_gpu"])
            milli = int(row["gpu_milli"]) if count else 0
            if count and milli == 0:
                milli = GPU_MILLI
            spec = frozenset(s for s in (row.get("gpu_spec") or "").split("|") if s)
            request = ResourceRequest(
                replica_id=row["name"], gpu_count=count, gpu_milli=milli, gpu_models=spec,
                cpu_milli=int(row["cpu_milli"]), memory_mib=int(row["memory_mib"]),
            )
        except (KeyError, ValueError) as exc:
            raise _bad("task", row, exc) from exc
        tasks.append(TraceTask(row["name"], request, row.get("qos") or "",
                               _int(row.get("creation_time")), _int(row.get("deletion_time"))))
    return tuple(tasks)


def read_nodes(path: Path) -> InventorySnapshot:
    """Read a node CSV file into an empty inventory."""
    with path.open(newline="") as f:
        return InventorySnapshot(parse_nodes(f))


def read_tasks(path: Path) -> tuple[TraceTask, ...]:
    """Read a task CSV file."""
    with path.open(newline="") as f:
        return parse_tasks(f)


__all__ = ["NODE_FILE", "TASK_FILE", "TraceTask", "parse_nodes", "parse_tasks", "read_nodes",
           "read_tasks"]
