"""LimiterStore implementations: in this process, or shared by every gateway through Redis.

``MemoryLimiterStore`` keeps buckets in a dict (one gateway process; bounded by dropping
full buckets when it grows past ``max_keys``). ``RedisLimiterStore`` runs the same
token bucket as one Lua script (atomic per key, Redis's clock, so gateways on several
machines agree). It speaks RESP over one asyncio connection per gateway process, with
a timeout on every call; when Redis is unreachable the request is allowed (fail open)
and the failure is logged, so an outage of Redis never stops inference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from modelyard.gateway.limiter import Bucket, Verdict, take

logger = logging.getLogger(__name__)


class MemoryLimiterStore:
    """Buckets in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self.max_keys = max_keys

    async def take(self, key: str, *, limit: int, window_s: float, cost: float,
                   force: bool = False) -> Verdict:
        """Spend ``cost`` units of bucket ``key``."""
        now = self._clock()
        verdict, bucket = take(self._buckets.get(key), limit=limit, window_s=window_s,
                               cost=cost, now=now, force=force)
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._buckets.clear()  # every dropped bucket was refilling towards full anyway
        self._buckets[key] = bucket
        return verdict

    async def aclose(self) -> None:
        """Nothing to release."""


# KEYS[1] bucket; ARGV limit, window_s, cost, force. Returns {allowed, tokens*1000, now_ms}.
_SCRIPT = b"""
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = limit
if state[1] then
  local rate = limit / window
  tokens = math.min(limit, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local allowed = 0
if force or tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(window * 2))
return {allowed, math.floor(tokens * 1000)}
"""


def _encode(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


async def _read_reply(reader: asyncio.StreamReader) -> object:
    line = (await reader.readuntil(b"\r\n"))[:-2]
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else (await reader.readexactly(n + 2))[:-2]
    if kind == b"*":
        return [await _read_reply(reader) for _ in range(int(rest))]
    raise RuntimeError(f"unexpected RESP reply {line[:20]!r}")


class RedisLimiterStore:
    """Buckets in Redis, shared by every gateway."""

    def __init__(self, url: str, *, prefix: str = "modelyard:rl:", timeout_s: float = 0.5) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.db = int(parts.path.strip("/") or 0)
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()
        self._sha: bytes | None = None

    async def _call(self, *parts: bytes) -> object:
        if self._conn is None:
            self._conn = await asyncio.open_connection(self.host, self.port)
            if self.db:
                self._conn[1].write(_encode(b"SELECT", str(self.db).encode()))
                await _read_reply(self._conn[0])
        reader, writer = self._conn
        writer.write(_encode(*parts))
        return await _read_reply(reader)

    async def _eval(self, key: bytes, args: list[bytes]) -> object:
        if self._sha is None:
            sha = await self._call(b"SCRIPT", b"LOAD", _SCRIPT)
            assert isinstance(sha, bytes)
            self._sha = sha
        try:
            return await self._call(b"EVALSHA", self._sha, b"1", key, *args)
        except RuntimeError as exc:
            if "NOSCRIPT" not in str(exc):
                raise
            self._sha = None
            return await self._call(b"EVAL", _SCRIPT, b"1", key, *args)

    async def take(self, key: str, *, limit: int, window_s: float, cost: float,
                   force: bool = False) -> Verdict:
        """Spend ``cost`` units of bucket ``key`` atomically in Redis."""
        args = [str(limit).encode(), repr(window_s).encode(), repr(cost).encode(),
                b"1" if force else b"0"]
        try:
            async with self._lock, asyncio.timeout(self.timeout_s):
                reply = await self._eval((self.prefix + key).encode(), args)
        except (OSError, TimeoutError, RuntimeError, asyncio.IncompleteReadError) as exc:
            logger.warning("rate limit store unreachable; allowing", extra={"error": type(exc).__name__})
            await self._drop()
            return Verdict(True, limit, limit, 0.0, 0.0)
        assert isinstance(reply, list)
        allowed, milli = int(reply[0]), int(reply[1])
        tokens = milli / 1000
        rate = limit / window_s
        return Verdict(bool(allowed), limit, max(0, int(tokens)), max(0.0, (limit - tokens) / rate),
                       0.0 if allowed else max(0.0, (cost - tokens) / rate))

    async def _drop(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await self._conn[1].wait_closed()
            self._conn = None

    async def aclose(self) -> None:
        """Close the connection."""
        await self._drop()
