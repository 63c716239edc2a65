"""Schemas of models, versions and aliases."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from modelyard.domain.models import Model, ModelVersion


class UploadPublic(BaseModel):
    """A received upload, ready to be registered."""

    upload_id: str


class VersionCreate(BaseModel):
    """Register a new version from an upload."""

    model_config = ConfigDict(extra="forbid")
    upload_id: str = Field(min_length=1, max_length=64)
    framework: str | None = Field(default=None, max_length=32)
    task: str = Field(default="classification", max_length=32)
    filename: str = Field(default="model", min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    tags: dict[str, str] = Field(default_factory=dict, max_length=64)
    input_schema: str | None = Field(default=None, max_length=65536)
    output_schema: str | None = Field(default=None, max_length=65536)


class VersionPublic(BaseModel):
    """An immutable model version."""

    model: str
    version: int
    digest: str
    framework: str
    task: str
    size_bytes: int
    artifact_name: str
    created_at: datetime
    created_by: str
    tags: dict[str, str]
    input_schema: str | None = None
    output_schema: str | None = None

    @classmethod
    def from_domain(cls, v: ModelVersion) -> VersionPublic:
        """Build from the domain object."""
        return cls(model=v.model, version=v.version, digest=v.digest, framework=v.framework,
                   task=v.task, size_bytes=v.size_bytes, artifact_name=v.artifact_name,
                   created_at=v.created_at, created_by=v.created_by, tags=dict(v.tags),
                   input_schema=v.input_schema, output_schema=v.output_schema)


class ModelPublic(BaseModel):
    """A model with its versions and aliases."""

    name: str
    team: str
    description: str
    created_at: datetime
    created_by: str
    latest_version: int | None
    aliases: dict[str, int]
    versions: list[VersionPublic]

    @classmethod
    def from_domain(cls, m: Model, versions: list[ModelVersion],
                    aliases: dict[str, int]) -> ModelPublic:
        """Build from domain objects."""
        return cls(name=m.name, team=m.team, description=m.description,
                   created_at=m.created_at, created_by=m.created_by,
                   latest_version=versions[-1].version if versions else None,
                   aliases=aliases, versions=[VersionPublic.from_domain(v) for v in versions])


class AliasUpdate(BaseModel):
    """Point an alias at a version."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=2**31 - 1)


class AliasPublic(BaseModel):
    """An alias."""

    model: str
    alias: str
    version: int
