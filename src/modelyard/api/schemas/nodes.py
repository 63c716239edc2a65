"""Schemas of the node inventory."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NameStr = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class GpuDeclare(BaseModel):
    """GPUs of one model to declare on a node."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    count: int = Field(default=1, ge=1, le=16)
    memory_gib: float | None = Field(default=None, gt=0, le=4096,
                                     description="Default: the GPU catalogue's figure.")


class NodeCreate(BaseModel):
    """Declare a node (or replace the GPUs of a discovered one)."""

    model_config = ConfigDict(extra="forbid")
    name: NameStr
    cpu_milli: int = Field(default=0, ge=0, le=10_000_000)
    memory_mib: int = Field(default=0, ge=0, le=1 << 40)
    gpus: list[GpuDeclare] = Field(default_factory=list, max_length=16)
    labels: dict[Annotated[str, Field(max_length=63)], Annotated[str, Field(max_length=255)]] = \
        Field(default_factory=dict, max_length=64)
    taints: list[Annotated[str, Field(max_length=320)]] = Field(
        default_factory=list, max_length=32,
        description="KEY=VALUE taints: replicas land only if they tolerate them.")


class GpuPublic(BaseModel):
    """One GPU: capacity, what is allocated on it and what is free."""

    index: int
    model: str
    uuid: str
    memory_bytes: int
    allocated_milli: int
    allocated_memory_bytes: int
    free_memory_bytes: int


class NodePublic(BaseModel):
    """A node with capacity, allocations and free memory per GPU."""

    name: str
    source: str
    cordoned: bool
    draining: bool
    cpu_milli: int
    memory_mib: int
    labels: dict[str, str]
    taints: list[str]
    gpus: list[GpuPublic]
    replicas: list[str]
    updated_at: datetime
