"""Which runtime serves which framework, and how a framework is detected from an artifact.

Detection looks at file names and small JSON files only, never at weights:

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

_SUFFIX_FRAMEWORK: Mapping[str, str] = {
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".skops": "sklearn",
    ".onnx": "onnx",
}
_CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json")


def is_causal_lm_folder(path: Path) -> bool:
    """A ``save_pretrained`` folder of a causal LM with its tokenizer."""
    config = path / "config.json"
    if not config.is_file() or not any((path / f).is_file() for f in _TOKENIZER_FILES):
        return False
    try:
        archs = json.loads(config.read_text()).get("architectures") or []
    except (ValueError, AttributeError):
        return False
    return any(str(a).endswith(_CAUSAL_SUFFIXES) for a in archs)


def _detect_folder(path: Path) -> str | None:
    if (path / "modelyard.yaml").is_file() or (path / "model.py").is_file():
        return "custom"
    if (path / "modules.json").is_file():
        return "embeddings"
    if is_causal_lm_folder(path):
        return "transformers"
    return None


def detect_framework(path: Path) -> str | None:
    """Guess the framework from the artifact's file names, or None when unsure."""
    if path.is_dir() and (found_dir := _detect_folder(path)) is not None:
        return found_dir
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    found = {_SUFFIX_FRAMEWORK[p.suffix] for p in files if p.suffix in _SUFFIX_FRAMEWORK}
    return found.pop() if len(found) == 1 else None


def create_runtime(framework: str) -> AnyRuntime:
    """Return a fresh runtime for ``framework`` or raise ``unsupported_framework``."""
    factory = RUNTIMES.get(framework)
    if factory is None:
        raise ModelyardError(
            ErrorCode.UNSUPPORTED_FRAMEWORK,
            f"no runtime for framework {framework!r}; known: {', '.join(FRAMEWORKS)}",
        )
    return factory()
