"""Known model frameworks and how one is recognised from an artifact's files.

Pure: it looks at file names and, for Hugging Face folders, the ``architectures`` list of
``config.json`` (read by the caller). Detection never looks at weights.

| artifact | framework |
| --- | --- |
| folder with ``modelyard.yaml`` or ``model.py`` | ``custom`` |
| folder with ``modules.json`` | ``embeddings`` (sentence-transformers) |
| folder with ``config.json`` (causal LM architecture) and a tokenizer | ``transformers`` |
| ``.onnx`` | ``onnx`` |
| ``.gguf`` | ``gguf`` (served by the llama.cpp engine only) |
| ``.joblib``, ``.pkl``, ``.pickle``, ``.skops`` | ``sklearn`` |
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType

from modelyard.domain.errors import ErrorCode, ModelyardError

FRAMEWORKS: tuple[str, ...] = ("sklearn", "onnx", "embeddings", "transformers", "custom", "gguf")

ENGINE_ONLY: frozenset[str] = frozenset({"gguf"})
BUILTIN_FRAMEWORKS: tuple[str, ...] = tuple(f for f in FRAMEWORKS if f not in ENGINE_ONLY)
COMPILABLE: frozenset[str] = frozenset({"embeddings"})  # built-in runtimes with ``--compile``

SUFFIX_FRAMEWORK: Mapping[str, str] = MappingProxyType({
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".skops": "sklearn",
    ".onnx": "onnx",
    ".gguf": "gguf",
})
CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json")


def check_compile(framework: str, engine: str | None, compile_graph: bool) -> None:
    """Refuse ``--compile`` where no built-in runtime would compile the model."""
    if not compile_graph:
        return
    if engine is not None:
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             "--compile applies to built-in runtimes; engines compile on their own")
    if framework not in COMPILABLE:
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             f"the {framework} runtime does not compile; --compile serves "
                             f"{', '.join(sorted(COMPILABLE))} models")


def is_causal_lm(top_level: Collection[str], architectures: Iterable[str]) -> bool:
    """A ``save_pretrained`` folder of a causal LM with its tokenizer."""
    if "config.json" not in top_level or not any(f in top_level for f in TOKENIZER_FILES):
        return False
    return any(str(a).endswith(CAUSAL_SUFFIXES) for a in architectures)


def detect_framework(names: Iterable[str], architectures: Iterable[str] = (),
                     top_level: Collection[str] | None = None) -> str | None:
    """Return the one framework the files point to, else None.

    Args:
        names: every file name (or relative path) of the artifact.
        architectures: ``config.json``'s ``architectures``, when the folder has one.
        top_level: names directly in the artifact folder (None for a single file).
    """
    names = list(names)
    if top_level is not None:
        if "modelyard.yaml" in top_level or "model.py" in top_level:
            return "custom"
        if "modules.json" in top_level:
            return "embeddings"
        if is_causal_lm(top_level, architectures):
            return "transformers"
    found = set()
    for name in names:
        dot = name.rfind(".")
        if dot >= 0 and name[dot:].lower() in SUFFIX_FRAMEWORK:
            found.add(SUFFIX_FRAMEWORK[name[dot:].lower()])
    return found.pop() if len(found) == 1 else None


def check_framework(framework: str) -> str:
    """Return ``framework`` if known, else raise ``unsupported_framework``."""
    if framework not in FRAMEWORKS:
        raise ModelyardError(
            ErrorCode.UNSUPPORTED_FRAMEWORK,
            f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}",
        )
    return framework
