"""Apply rate limits per key and per team: requests per minute and LLM tokens per minute.

Each request takes one unit from the key's and the team's request buckets; an LLM
request also needs a non-negative token bucket. Tokens are charged after the answer
(from ``usage``), so a long answer may take a bucket below zero and the following
requests wait until it refills. The tightest verdict goes out as ``X-RateLimit-*``
headers; a refusal is 429 ``rate_limited`` with Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import Principal
from modelyard.gateway.limiter import LimiterStore, Verdict

WINDOW_S = 60.0


@dataclass(frozen=True)
class Limits:
    """Per-minute limits; 0 means none."""

    key_requests: int = 0
    key_tokens: int = 0
    team_requests: int = 0
    team_tokens: int = 0

    @property
    def any(self) -> bool:
        """True when some limit is set."""
        return bool(self.key_requests or self.key_tokens or self.team_requests or self.team_tokens)


def limit_headers(v: Verdict) -> list[tuple[bytes, bytes]]:
    """The ``X-RateLimit-*`` headers of a verdict (reset in whole seconds)."""
    return [(b"x-ratelimit-limit", str(v.limit).encode()),
            (b"x-ratelimit-remaining", str(v.remaining).encode()),
            (b"x-ratelimit-reset", str(int(v.reset_s + 0.999)).encode())]


class RateLimited(ModelyardError):
    """429 ``rate_limited``, with the ``X-RateLimit-*`` headers of the exhausted bucket."""

    def __init__(self, message: str, headers: list[tuple[bytes, bytes]], retry_after_s: float) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, message, retry_after_s=retry_after_s)
        self.headers = headers


class RateLimiter:
    """Takes and charges buckets in a LimiterStore."""

    def __init__(self, store: LimiterStore, limits: Limits) -> None:
        self.store = store
        self.limits = limits

    async def check(self, principal: Principal, *, llm: bool) -> list[tuple[bytes, bytes]]:
        """Take one request; return the headers to send. Raises 429 ``rate_limited``."""
        lim = self.limits
        checks = [(f"k:{principal.key_id}:r", lim.key_requests, 1.0),
                  (f"t:{principal.team}:r", lim.team_requests, 1.0)]
        if llm:
            checks += [(f"k:{principal.key_id}:t", lim.key_tokens, 0.0),
                       (f"t:{principal.team}:t", lim.team_tokens, 0.0)]
        tightest: Verdict | None = None
        for key, limit, cost in checks:
            if limit <= 0:
                continue
            v = await self.store.take(key, limit=limit, window_s=WINDOW_S, cost=cost)
            if not v.allowed:
                raise RateLimited(f"rate limit reached ({'tokens' if cost == 0 else 'requests'}"
                                  f" per minute of the {'key' if key[0] == 'k' else 'team'})",
                                  limit_headers(v), max(1.0, v.retry_after_s))
            if tightest is None or v.remaining < tightest.remaining:
                tightest = v
        return limit_headers(tightest) if tightest is not None else []

    async def charge(self, principal: Principal, tokens: int) -> None:
        """Spend ``tokens`` from the key's and the team's token buckets."""
        if tokens <= 0:
            return
        for key, limit in ((f"k:{principal.key_id}:t", self.limits.key_tokens),
                           (f"t:{principal.team}:t", self.limits.team_tokens)):
            if limit > 0:
                await self.store.take(key, limit=limit, window_s=WINDOW_S, cost=float(tokens),
                                      force=True)
