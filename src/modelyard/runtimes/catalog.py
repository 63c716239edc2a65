"""Which runtime serves which framework, and how a framework is detected from an artifact.

Detection reads file names and ``config.json``'s architectures, never weights; the rules
themselves are the pure ``domain.frameworks.detect_framework``:

| artifact | framework |
| --- | --- |
| folder with ``modelyard.yaml`` or ``model.py`` | ``custom`` |
| folder with ``modules.json`` | ``embeddings`` (sentence-transformers) |
| folder with ``config.json`` (causal LM architecture) and a tokenizer | ``transformers`` |
| ``.onnx`` | ``onnx`` |
| ``.joblib``, ``.pkl``, ``.pickle``, ``.skops`` | ``sklearn`` |
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from modelyard.domain import frameworks
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import EmbeddingRuntime, GenerationRuntime, TensorRuntime

AnyRuntime = TensorRuntime | EmbeddingRuntime | GenerationRuntime


def _sklearn() -> AnyRuntime:
    from modelyard.runtimes.sklearn import SklearnRuntime

    return SklearnRuntime()


def _onnx() -> AnyRuntime:
    from modelyard.runtimes.onnx import OnnxRuntime

    return OnnxRuntime()


def _embeddings() -> AnyRuntime:
    from modelyard.runtimes.embeddings import SentenceTransformerRuntime

    return SentenceTransformerRuntime()


def _transformers() -> AnyRuntime:
    from modelyard.runtimes.transformers import TransformersRuntime

    return TransformersRuntime()


def _custom() -> AnyRuntime:
    from modelyard.runtimes.custom import CustomRuntime

    return CustomRuntime()


RUNTIMES: Mapping[str, Callable[[], AnyRuntime]] = MappingProxyType({
    "sklearn": _sklearn,
    "onnx": _onnx,
    "embeddings": _embeddings,
    "transformers": _transformers,
    "custom": _custom,
})
FRAMEWORKS: tuple[str, ...] = tuple(RUNTIMES)
def _architectures(path: Path) -> list[str]:
    try:
        archs = json.loads((path / "config.json").read_text()).get("architectures") or []
    except (OSError, ValueError, AttributeError):
        return []
    return [str(a) for a in archs]


def detect_framework(path: Path) -> str | None:
    """Guess the framework from the artifact's files (see ``domain.frameworks``)."""
    if path.is_file():
        return frameworks.detect_framework([path.name])
    names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
    top = {p.name for p in path.iterdir()}
    archs = _architectures(path) if "config.json" in top else []
    return frameworks.detect_framework(names, archs, top)


def create_runtime(framework: str) -> AnyRuntime:
    """Return a fresh runtime for ``framework`` or raise ``unsupported_framework``."""
    factory = RUNTIMES.get(framework)
    if factory is None:
        raise ModelyardError(
            ErrorCode.UNSUPPORTED_FRAMEWORK,
            f"no runtime for framework {framework!r}; known: {', '.join(FRAMEWORKS)}",
        )
    return factory()
