"""Schemas of deployments, revisions and replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from modelyard.domain.deployments import (
    Deployment,
    EngineSettings,
    Environment,
    Resources,
    Revision,
)
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.replicas import Replica
from modelyard.domain.status import deployment_status


class EngineSettingsBody(BaseModel):
    """Engine-neutral settings of an engine replica."""

    model_config = ConfigDict(extra="forbid")
    tensor_parallel_size: int = Field(default=1, ge=1, le=64)
    gpu_memory_fraction: float | None = Field(default=None, gt=0, le=1)
    max_model_len: int | None = Field(default=None, ge=1, le=10_000_000)
    max_num_seqs: int | None = Field(default=None, ge=1, le=100_000)
    quantization: str | None = Field(default=None, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    kv_cache_dtype: str | None = Field(default=None, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    speculative_model: str | None = Field(default=None, max_length=255)
    num_speculative_tokens: int | None = Field(default=None, ge=1, le=64)
    extra_args: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list,
                                                                     max_length=64)
    version: str | None = Field(default=None, max_length=32, pattern=r"^[0-9][0-9.]*$")

    def to_domain(self) -> EngineSettings:
        """The domain form."""
        return EngineSettings(**{**self.model_dump(), "extra_args": tuple(self.extra_args)})


class ResourcesBody(BaseModel):
    """What each replica asks the scheduler for."""

    model_config = ConfigDict(extra="forbid")
    gpu_count: int = Field(default=0, ge=0, le=8, description="Whole GPUs on one node.")
    gpu_milli: int = Field(default=1000, ge=1, le=1000,
                           description="Share of one GPU (below 1000 only with one GPU).")
    gpu_memory_gib: float = Field(default=0, ge=0, le=4096)
    gpu_models: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list,
                                                                   max_length=16)
    cpu_milli: int = Field(default=0, ge=0, le=1_000_000)
    memory_mib: int = Field(default=0, ge=0, le=1 << 30)
    node_selector: dict[Annotated[str, Field(max_length=63)],
                        Annotated[str, Field(max_length=255)]] = Field(default_factory=dict,
                                                                       max_length=32)
    tolerations: list[Annotated[str, Field(max_length=320)]] = Field(
        default_factory=list, max_length=32, description="KEY or KEY=VALUE taints to accept.")

    def to_domain(self) -> Resources:
        """The domain form."""
        if self.gpu_milli < 1000 and self.gpu_count > 1:
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 "a GPU share (gpu_milli < 1000) needs gpu_count 1")
        tolerations = tuple((k, v if sep else None) for k, sep, v in
                            (t.partition("=") for t in self.tolerations))
        return Resources(self.gpu_count, self.gpu_milli, int(self.gpu_memory_gib * 1024**3),
                         tuple(self.gpu_models), self.cpu_milli, self.memory_mib,
                         tuple(sorted(self.node_selector.items())), tolerations)


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
    max_batch_size: int | None = Field(default=None, ge=0, le=4096,
                                       description="Rows per forward pass; 0/1 = no batching.")
    max_batch_delay_ms: float | None = Field(default=None, ge=0, le=10_000,
                                             description="Longest wait to fill a batch.")
    instances: int | None = Field(default=None, ge=1, le=16,
                                  description="Model instances per replica (default per runtime).")
    compile: bool = Field(default=False, description=(
        "Compile the forward graph at load (embeddings runtime): a slower start, faster "
        "batches."))
    engine: Literal["vllm", "tgi", "llamacpp", "trtllm"] | None = Field(
        default=None, description="Serve with this engine instead of a built-in runtime.")
    engine_settings: EngineSettingsBody | None = None
    resources: ResourcesBody | None = None


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
    allocation: dict[str, Any] | None = None

    @classmethod
    def from_domain(cls, r: Replica) -> ReplicaPublic:
        """Build from the domain object."""
        return cls(id=r.id, deployment=r.deployment, revision=r.revision, state=str(r.state),
                   state_since=r.state_since, node=r.node, pid=r.pid, port=r.port, url=r.url,
                   restart_count=r.restart_count, reason=r.reason,
                   allocation=r.allocation.to_json() if r.allocation else None)


class RevisionPublic(BaseModel):
    """An immutable revision."""

    number: int
    model: str
    version: int
    alias: str | None
    framework: str
    digest: str
    max_batch_size: int | None
    max_batch_delay_ms: float | None
    instances: int | None = None
    compile: bool = False
    engine: str | None
    engine_settings: dict[str, Any] | None
    resources: dict[str, Any] | None = None
    created_at: datetime
    created_by: str
    message: str
    replicas: int | None = None

    @classmethod
    def from_domain(cls, r: Revision) -> RevisionPublic:
        """Build from the domain object."""
        s = r.spec
        return cls(number=r.number, model=s.model, version=s.version, alias=s.alias,
                   framework=s.framework, digest=s.digest, max_batch_size=s.max_batch_size,
                   max_batch_delay_ms=s.max_batch_delay_ms, instances=s.instances,
                   compile=s.compile,
                   engine=s.engine,
                   engine_settings=s.engine_settings.to_json() if s.engine_settings else None,
                   resources=s.resources.to_json(),
                   created_at=r.created_at,
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
