"""Deployment and Revision: a serving endpoint and the immutable specs it has run.

The deployment holds what may change without a new revision (desired replica count);
each revision freezes what its replicas run (model version, artifact, runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Environment(StrEnum):
    """Where a deployment lives; production changes need more rights."""

    DEV = "dev"
    STAGING = "staging"
    PRODUCTION = "production"


@dataclass(frozen=True)
class RevisionSpec:
    """What every replica of a revision runs."""

    model: str
    version: int
    alias: str | None
    framework: str
    digest: str
    artifact_name: str
    replicas: int | None = None


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
