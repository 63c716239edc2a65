"""The load driver of ``modelyard validate``: workloads, arrivals and measured requests.

A ``Workload`` builds request number i: OIP v2 inference from the model's metadata
(synthetic rows) or from recorded inputs, or a streamed chat completion with a prompt of
``input_len`` words and ``max_tokens = output_len``. ``run_load`` drives it through the
gateway for ``duration_s``: closed loop (``concurrency`` workers, each sending its next
request when the last answered) or open loop (arrivals at ``rate`` per second with gaps
from a gamma distribution: ``burstiness`` 1 is Poisson, below 1 is burstier, as vLLM's
benchmark; at most ``concurrency`` in flight). Each request yields an ``sla.Sample``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.sla import Sample

PIN_HEADER = "X-Modelyard-Revision"
WORDS = ("the", "cat", "sat", "on", "a", "blue", "mat", "and", "you", "are", "one", "two")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")


def parse_duration(text: str) -> float:
    """``60s``, ``2m``, ``500ms`` or a number of seconds."""
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, f"duration {text!r}: use 60s, 2m or 500ms")
    scale = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    return float(m.group(1)) * scale


@dataclass(frozen=True)
class Call:
    """One request to send."""

    path: str
    body: dict[str, Any]
    stream: bool = False


def _synthetic_tensor(spec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    shape = [1 if int(d) < 0 else int(d) for d in spec.get("shape") or [1, 1]] or [1]
    if len(shape) == 1:
        shape = [1, shape[0]]
    size = 1
    for d in shape:
        size *= d
    dtype = str(spec.get("datatype", "FP64"))
    if dtype == "BYTES":
        data: list[Any] = [rng.choice(WORDS) for _ in range(size)]
    elif dtype.startswith(("INT", "UINT")):
        data = [rng.randint(0, 9) for _ in range(size)]
    else:
        data = [round(rng.uniform(0, 8), 3) for _ in range(size)]
    return {"name": spec.get("name", "input-0"), "shape": shape, "datatype": dtype, "data": data}


@dataclass
class OipWorkload:
    """Synthetic OIP v2 requests built from the model's metadata."""

    name: str
    inputs: list[dict[str, Any]]
    seed: int = 0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def call(self, i: int) -> Call:
        """Request number ``i``."""
        inputs = [_synthetic_tensor(s, self._rng) for s in self.inputs] or [
            _synthetic_tensor({"shape": [1, 4]}, self._rng)]
        return Call(f"/v2/models/{self.name}/infer", {"inputs": inputs})


@dataclass
class ChatWorkload:
    """Streamed chat completions with set input and output lengths."""

    name: str
    input_len: int = 32
    output_len: int = 16
    seed: int = 0

    def call(self, i: int) -> Call:
        """Request number ``i``."""
        rng = random.Random(self.seed * 1_000_003 + i)
        prompt = " ".join(rng.choice(WORDS) for _ in range(self.input_len))
        return Call("/v1/chat/completions", {
            "model": self.name, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": self.output_len, "stream": True,
            "stream_options": {"include_usage": True}}, stream=True)


@dataclass
class DatasetWorkload:
    """Recorded request bodies from a JSONL file, sent in order and cycled."""

    name: str
    bodies: list[dict[str, Any]]

    @classmethod
    def load(cls, name: str, path: Path) -> DatasetWorkload:
        """Read one JSON body per non-empty line."""
        bodies = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if not bodies or not all(isinstance(b, dict) for b in bodies):
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 f"{path}: expected one JSON object per line")
        return cls(name, bodies)

    def call(self, i: int) -> Call:
        """Request number ``i``: chat (``messages``), completion (``prompt``) or OIP v2."""
        body = dict(self.bodies[i % len(self.bodies)])
        if "messages" in body or "prompt" in body:
            body.update(model=self.name, stream=True, stream_options={"include_usage": True})
            path = "/v1/chat/completions" if "messages" in body else "/v1/completions"
            return Call(path, body, stream=True)
        return Call(f"/v2/models/{self.name}/infer", body)


class Workload(Protocol):
    """Builds the requests of a run."""

    def call(self, i: int) -> Call:
        """Request number ``i``."""
        ...


def _content(obj: Any) -> bool:
    for choice in obj.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or choice.get("text"):
            return True
    return False


async def _streamed(client: httpx.AsyncClient, call: Call, headers: dict[str, str]) -> Sample:
    start = time.perf_counter()
    chunks: list[float] = []
    reported: int | None = None
    async with client.stream("POST", call.path, json=call.body, headers=headers) as resp:
        if resp.status_code != 200:
            await resp.aread()
            return Sample(False, time.perf_counter() - start)
        async for line in resp.aiter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            obj = json.loads(line[5:])
            if obj.get("usage"):
                reported = obj["usage"].get("completion_tokens")
            if _content(obj):
                chunks.append(time.perf_counter())
    latency = time.perf_counter() - start
    if not chunks:  # an answer without content (an immediate end of sequence) is no error
        return Sample(True, latency, None, reported or 0)
    itls = tuple(b - a for a, b in zip(chunks, chunks[1:], strict=False))
    return Sample(True, latency, chunks[0] - start, reported or len(chunks), itls)


async def measure(client: httpx.AsyncClient, call: Call, headers: dict[str, str]) -> Sample:
    """Send one call and measure it; a transport failure is a failed sample."""
    start = time.perf_counter()
    try:
        if call.stream:
            return await _streamed(client, call, headers)
        resp = await client.post(call.path, json=call.body, headers=headers)
        return Sample(resp.status_code == 200, time.perf_counter() - start)
    except (httpx.HTTPError, ValueError):
        return Sample(False, time.perf_counter() - start)


@dataclass(frozen=True)
class LoadSpec:
    """How hard and how long to drive."""

    concurrency: int
    duration_s: float
    rate: float | None = None
    burstiness: float = 1.0
    revision: int | None = None
    seed: int = 0
    timeout_s: float = 60.0


Progress = Callable[[float, Sequence[Sample]], None]


class Driver:
    """Runs one load test and keeps its samples."""

    def __init__(self, url: str, api_key: str, workload: Workload, spec: LoadSpec, *,
                 verify: Any = True, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.api_key = api_key
        self.workload = workload
        self.spec = spec
        self.verify = verify
        self.transport = transport  # tests drive an in-process app
        self.samples: list[Sample] = []
        self._next = 0
        self._headers = {PIN_HEADER: str(spec.revision)} if spec.revision is not None else {}

    def _take(self) -> Call:
        i, self._next = self._next, self._next + 1
        return self.workload.call(i)

    async def _closed(self, client: httpx.AsyncClient, deadline: float) -> None:
        async def worker() -> None:
            while time.perf_counter() < deadline:
                self.samples.append(await measure(client, self._take(), self._headers))

        await asyncio.gather(*(worker() for _ in range(self.spec.concurrency)))

    async def _open(self, client: httpx.AsyncClient, deadline: float) -> None:
        assert self.spec.rate is not None
        rng = random.Random(self.spec.seed)
        gate = asyncio.Semaphore(self.spec.concurrency)
        shape = self.spec.burstiness
        tasks: list[asyncio.Task[None]] = []

        async def one(call: Call) -> None:
            async with gate:
                self.samples.append(await measure(client, call, self._headers))

        while time.perf_counter() < deadline:
            tasks.append(asyncio.create_task(one(self._take())))
            await asyncio.sleep(rng.gammavariate(shape, 1 / (self.spec.rate * shape)))
        await asyncio.gather(*tasks)

    async def run(self, progress: Progress | None = None, every_s: float = 1.0) -> float:
        """Drive for the spec's duration; return the measured wall time."""
        limits = httpx.Limits(max_connections=self.spec.concurrency + 4)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, verify=self.verify,
                                     timeout=self.spec.timeout_s, trust_env=False,
                                     transport=self.transport,
                                     headers={"Authorization": f"Bearer {self.api_key}"}) as client:
            start = time.perf_counter()
            deadline = start + self.spec.duration_s
            load = self._open(client, deadline) if self.spec.rate else self._closed(client, deadline)
            task = asyncio.create_task(load)
            while not task.done():
                await asyncio.wait({task}, timeout=every_s)
                if progress is not None:
                    progress(time.perf_counter() - start, self.samples)
            await task
            return time.perf_counter() - start
