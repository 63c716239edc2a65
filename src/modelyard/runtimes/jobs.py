"""The work items a ``Batcher`` carries for text runtimes, and their forward functions.

- ``EmbedRequest``: a list of texts; a batch of them is embedded in one call and split
  back by text counts, with each request's real token count.
- ``GenerationJob``: one prompt to continue. Generation is streamed token by token into
  the job's ``sink`` from the worker thread; jobs of one batch run one after another
  (generation is not merged into one forward pass here; engines do that).

Forward functions run in the batcher's worker thread. Events reach the event loop only
through ``sink``, which the caller makes thread-safe (``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from modelyard.runtimes.protocol import (
    EmbeddingRuntime,
    Embeddings,
    GenerationDone,
    GenerationRuntime,
    SamplingParams,
    TokenDelta,
)

GenerationEvent = TokenDelta | GenerationDone | BaseException


@dataclass(frozen=True)
class EmbedRequest:
    """Texts to embed for one request."""

    texts: tuple[str, ...]


def texts_of(request: EmbedRequest) -> int:
    """Rows an embedding request adds to a batch."""
    return len(request.texts)


def embedding_forward(
    runtime: EmbeddingRuntime,
) -> Callable[[Sequence[EmbedRequest]], list[Embeddings]]:
    """The batcher's ``forward`` for an embedding runtime."""

    def forward(requests: Sequence[EmbedRequest]) -> list[Embeddings]:
        texts = [t for r in requests for t in r.texts]
        done = runtime.embed(texts)
        vectors, tokens = done.vectors, done.tokens
        out = []
        start = 0
        for r in requests:
            end = start + len(r.texts)
            out.append(Embeddings(np.asarray(vectors[start:end]), sum(tokens[start:end])))
            start = end
        return out

    return forward


@dataclass(eq=False)
class GenerationJob:
    """One prompt to continue; ``sink`` (if any) receives each event as it happens."""

    prompt_ids: tuple[int, ...]
    params: SamplingParams
    sink: Callable[[GenerationEvent], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class GenerationResult:
    """A whole completion: its text and how it ended."""

    text: str
    done: GenerationDone


def _run_job(runtime: GenerationRuntime, job: GenerationJob) -> GenerationResult:
    parts: list[str] = []
    try:
        for event in runtime.generate(job.prompt_ids, job.params, job.cancel.is_set):
            if job.sink is not None:
                job.sink(event)
            if isinstance(event, GenerationDone):
                return GenerationResult("".join(parts), event)
            parts.append(event.text)
    except Exception as exc:
        if job.sink is not None:
            job.sink(exc)
        raise
    raise RuntimeError("the generation ended without a GenerationDone")


def generation_forward(
    runtime: GenerationRuntime,
) -> Callable[[Sequence[GenerationJob]], list[GenerationResult]]:
    """The batcher's ``forward`` for a generation runtime (jobs run in turn)."""

    def forward(jobs: Sequence[GenerationJob]) -> list[GenerationResult]:
        return [_run_job(runtime, job) for job in jobs]

    return forward
