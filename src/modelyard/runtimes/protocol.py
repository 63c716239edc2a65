"""The Runtime protocol: what a model server needs from a framework adapter.

A runtime loads an artifact once (``load``) and then answers batches. Tensor runtimes
(scikit-learn, ONNX, custom) take a 2-D batch of rows and return named output arrays;
embedding runtimes map a list of texts to vectors; generation runtimes continue a prompt
token by token. Every method except ``load`` may be called from a worker thread, one
call at a time (the batcher serializes them), so runtimes need no locks of their own.
Runtimes do no HTTP and know nothing of the gateway; ``runtimes/server.py`` wraps them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.generic]


class Capability(StrEnum):
    """What kind of requests a runtime answers."""

    TENSOR = "tensor"
    EMBEDDING = "embedding"
    GENERATION = "generation"


@dataclass(frozen=True)
class TensorSpec:
    """Name, OIP v2 datatype and shape (-1 for any) of one input or output."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Signature:
    """The inputs and outputs a model declares."""

    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class TensorRuntime(Protocol):
    """A runtime that maps a batch of rows to named output arrays."""

    capability: Capability
    @property
    def batch_defaults(self) -> BatchDefaults:
        """Default batching settings (may depend on the device the model loaded on)."""
        ...

    def load(self, path: Path) -> None:
        """Load the artifact at ``path`` (a file or a folder). Called once."""
        ...

    def signature(self) -> Signature:
        """Describe inputs and outputs (after ``load``)."""
        ...

    def predict(self, rows: Array, outputs: Sequence[str]) -> dict[str, Array]:
        """Return the requested outputs (all default ones when ``outputs`` is empty)."""
        ...


@dataclass(frozen=True)
class BatchDefaults:
    """A runtime's default dynamic-batching settings (the CLI flags override them)."""

    max_batch_size: int = 1
    max_batch_delay_ms: float = 0.0
    instances: int = 1  # model instances whose forward passes may overlap (``--instances``)


@dataclass(frozen=True)
class Embeddings:
    """Vectors for a list of texts, one row each, and the tokens they took."""

    vectors: Array
    prompt_tokens: int


@dataclass(frozen=True)
class TextVectors:
    """What an embedding runtime returns for a batch: one vector per text and its tokens."""

    vectors: Array  # 2-D float array, one row per text
    tokens: list[int]  # tokens each text took, as the model counts them (truncated)


@runtime_checkable
class EmbeddingRuntime(Protocol):
    """A runtime that maps texts to fixed-size vectors."""

    capability: Capability
    @property
    def batch_defaults(self) -> BatchDefaults:
        """Default batching settings (may depend on the device the model loaded on)."""
        ...

    def load(self, path: Path) -> None:
        """Load the artifact at ``path``. Called once."""
        ...

    def dimensions(self) -> int:
        """Length of each vector (after ``load``)."""
        ...

    def embed(self, texts: Sequence[str]) -> TextVectors:
        """One vector per text and the tokens each took (one tokenization serves both)."""
        ...


@runtime_checkable
class CompilableRuntime(Protocol):
    """A runtime that can compile its forward graph after loading (``deploy --compile``)."""

    def compile(self) -> bool:
        """Compile for this process's thread share; False when it serves eagerly instead."""
        ...


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one completion; OpenAI's names and meanings."""

    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class TokenDelta:
    """One step of a generation: new text (possibly empty) and the tokens so far."""

    text: str
    completion_tokens: int


@dataclass(frozen=True)
class GenerationDone:
    """The end of a generation: why it stopped and the real token counts."""

    finish_reason: str  # "stop" | "length"
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat conversation."""

    role: str
    content: str


@runtime_checkable
class GenerationRuntime(Protocol):
    """A runtime that continues text: a causal language model."""

    capability: Capability
    @property
    def batch_defaults(self) -> BatchDefaults:
        """Default batching settings (may depend on the device the model loaded on)."""
        ...

    def load(self, path: Path) -> None:
        """Load the artifact at ``path``. Called once."""
        ...

    def context_window(self) -> int:
        """Most tokens (prompt + completion) the model takes."""
        ...

    def render_chat(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Apply the tokenizer's chat template and return the prompt's token ids."""
        ...

    def tokenize(self, prompt: str) -> list[int]:
        """Return the token ids of a plain-text prompt."""
        ...

    def generate(
        self, prompt_ids: Sequence[int], params: SamplingParams, cancelled: Callable[[], bool]
    ) -> Iterator[TokenDelta | GenerationDone]:
        """Yield text deltas, then one ``GenerationDone``. Runs in a worker thread.

        ``cancelled`` is polled between tokens; when it turns true the generator stops.
        Stop strings are honoured: the text never contains one.
        """
        ...
