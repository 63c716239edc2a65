"""Model, ModelVersion and Alias: the registry's objects.

A version is immutable once created: its digest, framework, task, size and schema never
change. Aliases are the only movable names; they point at one version of their model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Task(StrEnum):
    """What a model does; it decides which protocols make sense for it."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    EMBEDDING = "embedding"
    TEXT_GENERATION = "text-generation"
    OTHER = "other"


@dataclass(frozen=True)
class Model:
    """A named model owned by a team."""

    name: str
    team: str
    description: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class ModelVersion:
    """One immutable, checksummed version of a model."""

    model: str
    version: int
    digest: str
    framework: str
    task: str
    size_bytes: int
    artifact_name: str
    created_at: datetime
    created_by: str
    tags: Mapping[str, str] = field(default_factory=dict)
    input_schema: str | None = None
    output_schema: str | None = None


@dataclass(frozen=True)
class Alias:
    """A movable name on one version of a model."""

    model: str
    name: str
    version: int
