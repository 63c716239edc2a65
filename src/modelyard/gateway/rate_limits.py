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
from modelyard.gateway.limiter import LimiterStore, Take, Verdict

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
    return [(b"x-ratelimit-limit", b"%d" % v.limit), (b"x-ratelimit-remaining", b"%d" % v.remaining),
            (b"x-ratelimit-reset", b"%d" % int(v.reset_s + 0.999))]


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
        self._plans: dict[tuple[str, str, bool], tuple[list[Take], list[Take]]] = {}

    def _plan(self, principal: Principal, llm: bool) -> tuple[list[Take], list[Take]]:
        """The request takes and the token charges of a caller (built once per key)."""
        cache_key = (principal.key_id, principal.team, llm)
        plan = self._plans.get(cache_key)
        if plan is None:
            lim, k, t = self.limits, principal.key_id, principal.team
            takes = [Take(f"k:{k}:r", lim.key_requests, WINDOW_S, 1.0),
                     Take(f"t:{t}:r", lim.team_requests, WINDOW_S, 1.0)]
            tokens = [Take(f"k:{k}:t", lim.key_tokens, WINDOW_S, 0.0),
                      Take(f"t:{t}:t", lim.team_tokens, WINDOW_S, 0.0)]
            plan = ([x for x in takes + (tokens if llm else []) if x.limit > 0],
                    [x for x in tokens if x.limit > 0] if llm else [])
            if len(self._plans) > 10_000:
                self._plans.clear()
            self._plans[cache_key] = plan
        return plan

    async def check(self, principal: Principal, *, llm: bool) -> list[tuple[bytes, bytes]]:
        """Take one request; return the headers to send. Raises 429 ``rate_limited``."""
        takes, _ = self._plan(principal, llm)
        if not takes:
            return []
        verdicts = await self.store.take_many(takes)
        tightest = verdicts[0]
        for t, v in zip(takes, verdicts, strict=True):
            if not v.allowed:
                raise RateLimited(f"rate limit reached ({'tokens' if t.cost == 0 else 'requests'}"
                                  f" per minute of the {'key' if t.key[0] == 'k' else 'team'})",
                                  limit_headers(v), max(1.0, v.retry_after_s))
            if v.remaining < tightest.remaining:
                tightest = v
        return limit_headers(tightest)

    async def charge(self, principal: Principal, tokens: int) -> None:
        """Spend ``tokens`` from the key's and the team's token buckets."""
        if tokens <= 0:
            return
        _, charges = self._plan(principal, True)
        if charges:
            await self.store.spend(charges, float(tokens))
