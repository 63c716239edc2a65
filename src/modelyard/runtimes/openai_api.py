"""OpenAI-compatible routes of a replica: models, embeddings, completions, chat.

The gateway forwards these verbatim (it routes on the body's ``model``), so the replica
speaks the protocol itself: the same bodies, the same SSE chunk schema ending in
``data: [DONE]``, real token counts in ``usage`` and errors in OpenAI's envelope
(``openai_errors``). Work goes through the replica's ``Batcher``: a full queue is a 429
before any byte is streamed; a client that disconnects cancels its job (generation stops
at the next token).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes import openai_schemas as schemas
from modelyard.runtimes.batching import Batcher
from modelyard.runtimes.http import (
    STATUS_CLIENT_GONE,
    ClientGone,
    Handler,
    json_response,
    read_json,
    until_disconnect,
)
from modelyard.runtimes.jobs import (
    EmbedRequest,
    GenerationEvent,
    GenerationJob,
    GenerationResult,
)
from modelyard.runtimes.openai_errors import error_body, render_error
from modelyard.runtimes.protocol import (
    EmbeddingRuntime,
    Embeddings,
    GenerationDone,
    GenerationRuntime,
    TokenDelta,
)

DEFAULT_MAX_TOKENS = 256
MAX_BODY_BYTES = 16 * 1024 * 1024


def openai_guarded(handler: Handler) -> Handler:
    """Render ModelyardError in the OpenAI envelope; a vanished client gets a 499."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ModelyardError as err:
            return render_error(err)
        except ClientGone:
            return Response(status_code=STATUS_CLIENT_GONE)

    return run


def sse(payload: object) -> bytes:
    """One server-sent event."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


@dataclass
class Embedder:
    """An embedding runtime and its batcher."""

    runtime: EmbeddingRuntime
    batcher: Batcher[EmbedRequest, Embeddings]


@dataclass
class Generator:
    """A generation runtime and its batcher."""

    runtime: GenerationRuntime
    batcher: Batcher[GenerationJob, GenerationResult]


class OpenAIApi:
    """The OpenAI routes for one model; embeddings and generation when the runtime can."""

    def __init__(self, model: str, *, embedder: Embedder | None = None,
                 generator: Generator | None = None, created: int | None = None) -> None:
        self.model = model
        self.embedder = embedder
        self.generator = generator
        self.created = created or int(time.time())

    def _check_model(self, name: str) -> None:
        if name != self.model:
            raise ModelyardError(
                ErrorCode.MODEL_NOT_FOUND,
                f"the model {name!r} does not exist on this replica",
                details={"param": "model"},
            )

    def _need_generator(self) -> Generator:
        if self.generator is None:
            raise schemas.invalid(f"the model {self.model!r} does not generate text", "model")
        return self.generator

    async def list_models(self, request: Request) -> Response:
        """``GET /v1/models``."""
        return json_response({"object": "list", "data": [{
            "id": self.model, "object": "model", "created": self.created, "owned_by": "modelyard",
        }]})

    async def embeddings(self, request: Request) -> Response:
        """``POST /v1/embeddings``."""
        body = schemas.parse(schemas.EmbeddingsRequest, await read_json(request, MAX_BODY_BYTES))
        self._check_model(body.model)
        if self.embedder is None:
            raise schemas.invalid(f"the model {self.model!r} does not embed text", "model")
        if body.dimensions is not None and body.dimensions != self.embedder.runtime.dimensions():
            raise schemas.invalid("this model cannot change its dimensions", "dimensions")
        work = self.embedder.batcher.enqueue(EmbedRequest(body.texts()))
        result = await until_disconnect(request, work)
        return json_response(schemas.embedding_list(
            self.model, result.vectors, result.prompt_tokens, body.encoding_format
        ))

    async def completions(self, request: Request) -> Response:
        """``POST /v1/completions``."""
        body = schemas.parse(schemas.CompletionRequest, await read_json(request, MAX_BODY_BYTES))
        self._check_model(body.model)
        gen = self._need_generator()
        body.check_supported()
        prompt_ids = await asyncio.to_thread(gen.runtime.tokenize, body.prompt_text())
        return await self._answer(request, gen, body, tuple(prompt_ids), chat=False)

    async def chat_completions(self, request: Request) -> Response:
        """``POST /v1/chat/completions``."""
        body = schemas.parse(schemas.ChatRequest, await read_json(request, MAX_BODY_BYTES))
        self._check_model(body.model)
        gen = self._need_generator()
        body.check_supported()
        prompt_ids = await asyncio.to_thread(gen.runtime.render_chat, body.chat())
        return await self._answer(request, gen, body, tuple(prompt_ids), chat=True)

    async def _answer(
        self, request: Request, gen: Generator,
        body: schemas.CompletionRequest | schemas.ChatRequest,
        prompt_ids: tuple[int, ...], *, chat: bool,
    ) -> Response:
        if len(prompt_ids) >= gen.runtime.context_window():
            raise schemas.invalid(
                f"the prompt has {len(prompt_ids)} tokens; the model's context window is "
                f"{gen.runtime.context_window()}", "messages" if chat else "prompt")
        params = body.sampling(DEFAULT_MAX_TOKENS)
        if not body.stream:
            job = GenerationJob(prompt_ids, params)
            try:
                result = await until_disconnect(request, gen.batcher.enqueue(job))
            finally:
                job.cancel.set()
            body_out = schemas.completion(self.model, result.text, result.done, chat=chat)
            return json_response(body_out)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[GenerationEvent] = asyncio.Queue()

        def sink(event: GenerationEvent) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        job = GenerationJob(prompt_ids, params, sink=sink)
        future = gen.batcher.enqueue(job)  # a full queue raises here: a 429, not a broken stream
        writer = schemas.ChunkWriter(self.model, chat=chat)
        stream = _stream(events, future, job, writer, include_usage=body.include_usage())
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    def routes(self) -> list[Route]:
        """The OpenAI routes."""
        return [
            Route("/v1/models", openai_guarded(self.list_models)),
            Route("/v1/embeddings", openai_guarded(self.embeddings), methods=["POST"]),
            Route("/v1/completions", openai_guarded(self.completions), methods=["POST"]),
            Route("/v1/chat/completions", openai_guarded(self.chat_completions),
                  methods=["POST"]),
        ]


async def _stream(
    events: asyncio.Queue[GenerationEvent],
    future: asyncio.Future[GenerationResult],
    job: GenerationJob,
    writer: schemas.ChunkWriter,
    *,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """SSE bytes of one generation; stops the job if the client goes away."""
    try:
        if writer.chat:
            yield sse(writer.delta("", role=True))
        while True:
            getter: asyncio.Future[GenerationEvent] = asyncio.ensure_future(events.get())
            waiting: set[asyncio.Future[Any]] = {getter, future}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                # the job ended before any event: it was dropped or failed in the queue
                exc = future.exception() if not future.cancelled() else None
                yield sse(error_body(_as_error(exc)))
                break
            event = getter.result()
            if isinstance(event, TokenDelta):
                if event.text:
                    yield sse(writer.delta(event.text))
                continue
            if isinstance(event, GenerationDone):
                yield sse(writer.delta(None if writer.chat else "", event.finish_reason))
                if include_usage:
                    yield sse(writer.usage_chunk(event))
            else:
                yield sse(error_body(_as_error(event)))
            break
        yield b"data: [DONE]\n\n"
    finally:
        job.cancel.set()
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()  # mark a failure as seen; it was already sent as an event


def _as_error(exc: BaseException | None) -> ModelyardError:
    if isinstance(exc, ModelyardError):
        return exc
    return ModelyardError(ErrorCode.INTERNAL, "the generation failed")
