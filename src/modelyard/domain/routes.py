"""RouteTable: the versioned, immutable snapshot every gateway serves from.

It holds, per deployment, the endpoints of Ready replicas (each tagged with its revision),
the traffic weights per revision and the shadow share during a rollout, and the public part of every
usable API key (prefix, hash, team, role), so a gateway authenticates and routes without
asking the control plane anything. Versions only grow, across server restarts too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from modelyard.domain.tenancy import (
    ALL_SCOPES,
    Principal,
    Role,
    Scope,
    format_scopes,
    parse_scopes,
)


@dataclass(frozen=True)
class Endpoint:
    """One Ready replica a gateway may send requests to."""

    replica_id: str
    url: str
    revision: int


@dataclass(frozen=True)
class RouteEntry:
    """How to reach one deployment."""

    deployment: str
    team: str
    environment: str
    model: str
    framework: str
    endpoints: tuple[Endpoint, ...]
    weights: tuple[tuple[int, int], ...] = ()
    shadow_revision: int | None = None
    shadow_percent: int = 0
    upstream_key_env: str = ""  # external endpoints: the gateway's variable holding their key
    connect_timeout_s: float = 0.0  # 0: the gateway's setting
    read_timeout_s: float = 0.0  # 0: the gateway's setting

    def endpoints_of(self, revision: int) -> tuple[Endpoint, ...]:
        """The Ready endpoints of one revision."""
        return tuple(e for e in self.endpoints if e.revision == revision)

    def revisions(self) -> frozenset[int]:
        """The revisions with at least one Ready endpoint."""
        return frozenset(e.revision for e in self.endpoints)


@dataclass(frozen=True)
class KeyEntry:
    """The public part of a usable API key."""

    key_id: str
    prefix: str
    key_hash: str
    name: str
    team: str
    role: Role
    expires_at: datetime | None
    scopes: frozenset[Scope] = ALL_SCOPES
    deployments: tuple[str, ...] = ()

    def principal(self) -> Principal:
        """The principal this key acts as."""
        return Principal(self.key_id, self.name, self.team, self.role, self.scopes,
                         self.deployments)


@dataclass(frozen=True)
class RouteTable:
    """A versioned snapshot of routes and keys."""

    version: int
    routes: Mapping[str, RouteEntry] = field(default_factory=lambda: MappingProxyType({}))
    keys: Mapping[str, KeyEntry] = field(default_factory=lambda: MappingProxyType({}))

    def same_content(self, other: RouteTable) -> bool:
        """True when routes and keys equal ``other``'s, whatever the versions."""
        return dict(self.routes) == dict(other.routes) and dict(self.keys) == dict(other.keys)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready form (for the watch endpoint)."""
        return {
            "version": self.version,
            "routes": [
                {
                    "deployment": r.deployment, "team": r.team, "environment": r.environment,
                    "model": r.model, "framework": r.framework,
                    "endpoints": [
                        {"replica_id": e.replica_id, "url": e.url, "revision": e.revision}
                        for e in r.endpoints
                    ],
                    "weights": [[rev, w] for rev, w in r.weights],
                    "shadow_revision": r.shadow_revision, "shadow_percent": r.shadow_percent,
                    "upstream_key_env": r.upstream_key_env,
                    "connect_timeout_s": r.connect_timeout_s, "read_timeout_s": r.read_timeout_s,
                }
                for r in self.routes.values()
            ],
            "keys": [
                {
                    "key_id": k.key_id, "prefix": k.prefix, "key_hash": k.key_hash,
                    "name": k.name, "team": k.team, "role": str(k.role),
                    "expires_at": k.expires_at.isoformat() if k.expires_at else None,
                    "scopes": format_scopes(k.scopes), "deployments": list(k.deployments),
                }
                for k in self.keys.values()
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RouteTable:
        """Parse the form written by ``to_json``."""
        routes = {
            r["deployment"]: RouteEntry(
                deployment=r["deployment"], team=r["team"], environment=r["environment"],
                model=r["model"], framework=r["framework"],
                endpoints=tuple(Endpoint(e["replica_id"], e["url"], int(e["revision"]))
                                for e in r["endpoints"]),
                weights=tuple((int(rev), int(w)) for rev, w in r.get("weights", ())),
                shadow_revision=r.get("shadow_revision"),
                shadow_percent=int(r.get("shadow_percent", 0)),
                upstream_key_env=str(r.get("upstream_key_env", "")),
                connect_timeout_s=float(r.get("connect_timeout_s", 0.0)),
                read_timeout_s=float(r.get("read_timeout_s", 0.0)),
            )
            for r in data["routes"]
        }
        keys = {
            k["prefix"]: KeyEntry(
                key_id=k["key_id"], prefix=k["prefix"], key_hash=k["key_hash"], name=k["name"],
                team=k["team"], role=Role(k["role"]),
                expires_at=datetime.fromisoformat(k["expires_at"]) if k["expires_at"] else None,
                scopes=parse_scopes(k.get("scopes", format_scopes(ALL_SCOPES))),
                deployments=tuple(k.get("deployments", ())),
            )
            for k in data["keys"]
        }
        return cls(int(data["version"]), MappingProxyType(routes), MappingProxyType(keys))
