"""OpenAI request bodies (validated with pydantic) and response/chunk builders.

Only what a replica serves: ``/v1/embeddings``, ``/v1/completions`` and
``/v1/chat/completions`` with ``n=1``. Unknown fields are ignored, as OpenAI-compatible
servers do, but fields we cannot honour (``n>1``, ``logprobs``, ``echo``, tools) are
refused with ``invalid_request`` naming the ``param``.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import Array, ChatMessage, GenerationDone, SamplingParams

MAX_STOPS = 4


def invalid(message: str, param: str | None = None) -> ModelyardError:
    """An ``invalid_request`` error about ``param``."""
    return ModelyardError(ErrorCode.INVALID_REQUEST, message, details={"param": param})


def parse(model: type[BaseModel], body: object) -> Any:
    """Validate ``body``; the first problem becomes ``invalid_request`` with its param."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise invalid(f"{where or 'body'}: {first['msg']}", where) from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, max_length=256)
    user: str | None = None


class EmbeddingsRequest(_Body):
    """``POST /v1/embeddings``."""

    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)

    def texts(self) -> tuple[str, ...]:
        """The inputs as a tuple of texts."""
        return (self.input,) if isinstance(self.input, str) else tuple(self.input)


class StreamOptions(BaseModel):
    """``stream_options``."""

    include_usage: bool = False


class _Sampling(_Body):
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: Any = None

    def check_supported(self) -> None:
        """Refuse what this replica cannot honour."""
        if self.n != 1:
            raise invalid("only n=1 is supported", "n")
        if self.logprobs not in (None, False, 0):
            raise invalid("logprobs are not supported", "logprobs")
        stops = self.stops()
        if len(stops) > MAX_STOPS:
            raise invalid(f"at most {MAX_STOPS} stop sequences", "stop")

    def stops(self) -> tuple[str, ...]:
        """Stop strings as a tuple."""
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def include_usage(self) -> bool:
        """Whether a streamed answer ends with a usage chunk."""
        return self.stream_options is not None and self.stream_options.include_usage

    def sampling(self, default_max_tokens: int) -> SamplingParams:
        """The sampling parameters, with ``max_tokens`` defaulted."""
        return SamplingParams(
            max_tokens=self.max_tokens or default_max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.stops(),
            seed=self.seed,
        )


class CompletionRequest(_Sampling):
    """``POST /v1/completions``."""

    prompt: str | list[str]
    echo: bool = False

    def prompt_text(self) -> str:
        """The single prompt (a list must hold exactly one)."""
        if self.echo:
            raise invalid("echo is not supported", "echo")
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) != 1:
            raise invalid("exactly one prompt per request", "prompt")
        return self.prompt[0]


class ContentPart(BaseModel):
    """A part of a message's content; only text parts are served."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    """A chat message."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def to_chat(self) -> ChatMessage:
        """Flatten text parts into one string."""
        if self.content is None or isinstance(self.content, str):
            return ChatMessage(self.role, self.content or "")
        if any(p.type != "text" for p in self.content):
            raise invalid("only text content parts are supported", "messages")
        return ChatMessage(self.role, "".join(p.text or "" for p in self.content))


class ChatRequest(_Sampling):
    """``POST /v1/chat/completions``."""

    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: Any = None

    def chat(self) -> list[ChatMessage]:
        """The conversation, checked."""
        if self.tools:
            raise invalid("tools are not supported by this runtime", "tools")
        return [m.to_chat() for m in self.messages]

    def sampling(self, default_max_tokens: int) -> SamplingParams:
        """As for completions; ``max_completion_tokens`` wins over ``max_tokens``."""
        params = super().sampling(default_max_tokens)
        if self.max_completion_tokens is None:
            return params
        return SamplingParams(self.max_completion_tokens, params.temperature, params.top_p,
                              params.stop, params.seed)


def new_id(prefix: str) -> str:
    """An OpenAI-style object id."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(done: GenerationDone) -> dict[str, int]:
    """The ``usage`` object of a generation."""
    return {
        "prompt_tokens": done.prompt_tokens,
        "completion_tokens": done.completion_tokens,
        "total_tokens": done.prompt_tokens + done.completion_tokens,
    }


def embedding_list(model: str, vectors: Array, prompt_tokens: int, fmt: str) -> dict[str, Any]:
    """The ``/v1/embeddings`` response body."""
    data = []
    for i, vec in enumerate(vectors):
        if fmt == "base64":
            value: Any = base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()
        else:  # orjson writes float32 arrays itself: shortest digits, no Python floats
            value = np.ascontiguousarray(vec, dtype=np.float32)
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def completion(model: str, text: str, done: GenerationDone, *, chat: bool) -> dict[str, Any]:
    """A whole (non-streamed) completion or chat completion."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": done.finish_reason, "logprobs": None}
    if chat:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    return {
        "id": new_id("chatcmpl" if chat else "cmpl"),
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage(done),
    }


class ChunkWriter:
    """Builds the chunks of one streamed answer (same id and timestamp throughout)."""

    def __init__(self, model: str, *, chat: bool) -> None:
        self.model = model
        self.chat = chat
        self.id = new_id("chatcmpl" if chat else "cmpl")
        self.created = int(time.time())

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def delta(self, text: str | None, finish_reason: str | None = None,
              *, role: bool = False) -> dict[str, Any]:
        """A chunk carrying ``text`` (and/or the finish reason, or the role first)."""
        if not self.chat:
            return self._chunk([{"index": 0, "text": text or "", "finish_reason": finish_reason,
                                 "logprobs": None}])
        delta: dict[str, Any] = {}
        if role:
            delta["role"] = "assistant"
        if text is not None:
            delta["content"] = text
        return self._chunk([{"index": 0, "delta": delta, "finish_reason": finish_reason,
                             "logprobs": None}])

    def usage_chunk(self, done: GenerationDone) -> dict[str, Any]:
        """The last chunk when ``stream_options.include_usage`` is set: no choices."""
        chunk = self._chunk([])
        chunk["usage"] = usage(done)
        return chunk
