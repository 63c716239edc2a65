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
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from modelyard.gateway.limiter import Bucket, Take, Verdict, refill, take_all

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
        return (await self.take_many([Take(key, limit, window_s, cost)], force=force))[0]

    async def take_many(self, takes: Sequence[Take], *, force: bool = False) -> list[Verdict]:
        """Spend from every bucket, or from none when one refuses."""
        buckets = self._buckets
        get = buckets.get
        verdicts, new = take_all([get(t[0]) for t in takes], takes, now=self._clock(), force=force)
        if new is not None:
            if len(buckets) + len(takes) > self.max_keys:
                buckets.clear()  # every dropped bucket was refilling towards full anyway
            for t, b in zip(takes, new, strict=True):
                buckets[t[0]] = b
        return verdicts

    async def spend(self, takes: Sequence[Take], cost: float) -> None:
        """Spend ``cost`` units of every bucket regardless (tokens charged after an answer)."""
        now = self._clock()
        buckets = self._buckets
        for key, limit, window_s, _ in takes:
            buckets[key] = (refill(buckets.get(key), limit, window_s, now) - cost, now)

    async def aclose(self) -> None:
        """Nothing to release."""


# KEYS: buckets; ARGV: force, then (limit, window_s, cost) per key. All or none unless forced.
# Returns {allowed, tokens*1000} per key.
_SCRIPT = b"""
local force = ARGV[1] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out, left, ok = {}, {}, true
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i * 3 - 1])
  local window = tonumber(ARGV[i * 3])
  local cost = tonumber(ARGV[i * 3 + 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = limit
  if state[1] then
    tokens = math.min(limit, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * limit / window)
  end
  local allowed = 0
  if force or tokens >= cost then
    allowed = 1
    tokens = tokens - cost
  else
    ok = false
  end
  left[i] = tokens
  out[#out + 1] = allowed
  out[#out + 1] = math.floor(tokens * 1000)
end
if ok or force then
  for i, key in ipairs(KEYS) do
    redis.call('HSET', key, 'tokens', tostring(left[i]), 'ts', tostring(now))
    redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[i * 3]) * 2))
  end
end
return out
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

    async def _eval(self, keys: list[bytes], args: list[bytes]) -> object:
        if self._sha is None:
            sha = await self._call(b"SCRIPT", b"LOAD", _SCRIPT)
            assert isinstance(sha, bytes)
            self._sha = sha
        count = str(len(keys)).encode()
        try:
            return await self._call(b"EVALSHA", self._sha, count, *keys, *args)
        except RuntimeError as exc:
            if "NOSCRIPT" not in str(exc):
                raise
            self._sha = None
            return await self._call(b"EVAL", _SCRIPT, count, *keys, *args)

    async def take(self, key: str, *, limit: int, window_s: float, cost: float,
                   force: bool = False) -> Verdict:
        """Spend ``cost`` units of bucket ``key`` atomically in Redis."""
        return (await self.take_many([Take(key, limit, window_s, cost)], force=force))[0]

    async def take_many(self, takes: Sequence[Take], *, force: bool = False) -> list[Verdict]:
        """Spend from every bucket, or from none when one refuses: one script call."""
        args = [b"1" if force else b"0"]
        for t in takes:
            args += [str(t.limit).encode(), repr(float(t.window_s)).encode(),
                     repr(float(t.cost)).encode()]
        keys = [(self.prefix + t.key).encode() for t in takes]
        try:
            async with self._lock, asyncio.timeout(self.timeout_s):
                reply = await self._eval(keys, args)
        except (OSError, TimeoutError, RuntimeError, asyncio.IncompleteReadError) as exc:
            logger.warning("rate limit store unreachable; allowing", extra={"error": type(exc).__name__})
            await self._drop()
            return [Verdict(True, t.limit, t.limit, 0.0, 0.0) for t in takes]
        assert isinstance(reply, list)
        out = []
        for i, t in enumerate(takes):
            allowed, tokens = bool(int(reply[2 * i])), int(reply[2 * i + 1]) / 1000
            rate = t.limit / t.window_s
            out.append(Verdict(allowed, t.limit, max(0, int(tokens)), max(0.0, (t.limit - tokens) / rate),
                               0.0 if allowed else max(0.0, (t.cost - tokens) / rate)))
        return out

    async def spend(self, takes: Sequence[Take], cost: float) -> None:
        """Spend ``cost`` units of every bucket regardless, in one script call."""
        await self.take_many([Take(t.key, t.limit, t.window_s, cost) for t in takes], force=True)

    async def _drop(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await self._conn[1].wait_closed()
            self._conn = None

    async def aclose(self) -> None:
        """Close the connection."""
        await self._drop()
