"""External deployments: served by endpoints modelyard did not start.

Any OpenAI-compatible or OIP v2 service; routed, authenticated, limited and metered
like replicas.

The upstream key is never stored: only the name of the gateway's environment variable
that holds it. An endpoint is in the route table while its health probe passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from modelyard.domain.errors import ErrorCode, ModelyardError

#: Paths tried in order when no health path is given; any answer below 500 but 404 is alive.
PROBE_PATHS = ("/health", "/v2/health/ready", "/v1/models")
_ENV_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass(frozen=True)
class ExternalDeployment:
    """A deployment whose replicas are endpoints outside modelyard."""

    name: str
    team: str
    environment: str
    urls: tuple[str, ...]
    upstream_key_env: str
    health_path: str
    created_at: datetime
    connect_timeout_s: float = 0.0  # 0: the gateway's setting
    read_timeout_s: float = 0.0

    def endpoint_id(self, index: int) -> str:
        """The replica id the route table gives endpoint ``index``."""
        return f"{self.name}-ext{index}"


def check_endpoint_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise ``invalid_request``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             f"endpoint {url[:100]!r} must be an http://host:port[/path] URL")
    return url.rstrip("/")


def check_env_name(name: str) -> str:
    """An environment variable name (upper case, digits, underscore) or empty."""
    if name and (not set(name) <= _ENV_CHARS or name[0].isdigit() or len(name) > 64):
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             "upstream_key_env must be an environment variable name like OPENAI_KEY")
    return name
