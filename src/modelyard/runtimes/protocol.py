"""The Runtime protocol: what a model server needs from a framework adapter.

A runtime loads an artifact once (``load``) and then answers batches. Tensor runtimes
(scikit-learn, ONNX, custom) take a 2-D batch of rows and return named output arrays.
Runtimes do no HTTP and know nothing of the gateway; ``runtimes/server.py`` wraps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    def load(self, path: Path) -> None:
        """Load the artifact at ``path`` (a file or a folder). Called once."""
        ...

    def signature(self) -> Signature:
        """Describe inputs and outputs (after ``load``)."""
        ...

    def predict(self, rows: Array, outputs: Sequence[str]) -> dict[str, Array]:
        """Return the requested outputs (all default ones when ``outputs`` is empty)."""
        ...
