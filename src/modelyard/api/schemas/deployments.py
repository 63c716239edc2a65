"""Schemas of deployments, revisions and replicas."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from modelyard.domain.deployments import Deployment, Environment, Revision
from modelyard.domain.replicas import Replica
from modelyard.domain.status import deployment_status


class DeploymentCreate(BaseModel):
    """Create a deployment of a model version (by number or alias)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=63)
    model: str = Field(min_length=1, max_length=63)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    alias: str | None = Field(default=None, min_length=1, max_length=63)
    replicas: int = Field(default=1, ge=0, le=64)
    environment: Environment = Environment.DEV
    message: str = Field(default="", max_length=2000)


class ScaleUpdate(BaseModel):
    """Change the desired replica count."""

    model_config = ConfigDict(extra="forbid")
    replicas: int = Field(ge=0, le=64)


class ReplicaPublic(BaseModel):
    """One replica."""

    id: str
    deployment: str
    revision: int
    state: str
    state_since: datetime
    node: str | None
    pid: int | None
    port: int | None
    url: str | None
    restart_count: int
    reason: str

    @classmethod
    def from_domain(cls, r: Replica) -> ReplicaPublic:
        """Build from the domain object."""
        return cls(id=r.id, deployment=r.deployment, revision=r.revision, state=str(r.state),
                   state_since=r.state_since, node=r.node, pid=r.pid, port=r.port, url=r.url,
                   restart_count=r.restart_count, reason=r.reason)


class RevisionPublic(BaseModel):
    """An immutable revision."""

    number: int
    model: str
    version: int
    alias: str | None
    framework: str
    digest: str
    created_at: datetime
    created_by: str
    message: str
    replicas: int | None = None

    @classmethod
    def from_domain(cls, r: Revision) -> RevisionPublic:
        """Build from the domain object."""
        s = r.spec
        return cls(number=r.number, model=s.model, version=s.version, alias=s.alias,
                   framework=s.framework, digest=s.digest, created_at=r.created_at,
                   created_by=r.created_by, message=r.message, replicas=s.replicas)


class DeploymentPublic(BaseModel):
    """A deployment with its current revision and replicas."""

    name: str
    team: str
    environment: str
    desired_replicas: int
    ready_replicas: int
    status: str
    deleting: bool
    created_at: datetime
    updated_at: datetime
    revision: RevisionPublic | None
    replicas: list[ReplicaPublic]

    @classmethod
    def from_domain(cls, d: Deployment, revision: Revision | None,
                    replicas: list[Replica]) -> DeploymentPublic:
        """Build from domain objects."""
        ready = sum(r.state == "ready" for r in replicas)
        return cls(name=d.name, team=d.team, environment=str(d.environment),
                   desired_replicas=d.desired_replicas, ready_replicas=ready,
                   status=deployment_status(d, replicas), deleting=d.deleting,
                   created_at=d.created_at, updated_at=d.updated_at,
                   revision=RevisionPublic.from_domain(revision) if revision else None,
                   replicas=[ReplicaPublic.from_domain(r) for r in replicas])
