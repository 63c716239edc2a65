"""Schemas of external deployments (endpoints modelyard did not start)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from modelyard.domain.deployments import Environment
from modelyard.domain.endpoints import ExternalDeployment


class ExternalDeploymentCreate(BaseModel):
    """Serve NAME from endpoints outside modelyard."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=63)
    endpoints: list[str] = Field(min_length=1, max_length=32,
                                 description="Base URLs (http://host:port[/prefix]).")
    environment: Environment = Environment.DEV
    upstream_key_env: str = Field(
        default="", max_length=64,
        description="Environment variable of the gateway holding the upstream API key "
                    "(sent as Authorization: Bearer); the key itself is never stored.")
    health_path: str = Field(default="", max_length=200,
                             description="Probe path; empty tries /health, /v2/health/ready, /v1/models.")
    connect_timeout_s: float = Field(default=0.0, ge=0, le=600,
                                     description="Connect timeout; 0 = the gateway's setting.")
    read_timeout_s: float = Field(default=0.0, ge=0, le=3600,
                                  description="Read timeout (head, and between chunks); 0 = the "
                                              "gateway's setting.")


class ExternalDeploymentPublic(BaseModel):
    """An external deployment and which endpoints pass their probe."""

    name: str
    team: str
    environment: str
    endpoints: list[str]
    healthy_endpoints: list[str]
    upstream_key_env: str
    health_path: str
    created_at: datetime
    connect_timeout_s: float
    read_timeout_s: float

    @classmethod
    def from_domain(cls, ext: ExternalDeployment, healthy: frozenset[str]) -> ExternalDeploymentPublic:
        """Build from the domain object and the prober's view."""
        return cls(name=ext.name, team=ext.team, environment=ext.environment,
                   endpoints=list(ext.urls), healthy_endpoints=[u for u in ext.urls if u in healthy],
                   upstream_key_env=ext.upstream_key_env, health_path=ext.health_path,
                   created_at=ext.created_at, connect_timeout_s=ext.connect_timeout_s,
                   read_timeout_s=ext.read_timeout_s)
