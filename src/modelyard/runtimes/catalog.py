"""Which runtime serves which framework, and how a framework is detected from an artifact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from modelyard.domain import frameworks
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import TensorRuntime


def _sklearn() -> TensorRuntime:
    from modelyard.runtimes.sklearn import SklearnRuntime

    return SklearnRuntime()


RUNTIMES: Mapping[str, Callable[[], TensorRuntime]] = MappingProxyType({"sklearn": _sklearn})
FRAMEWORKS: tuple[str, ...] = tuple(RUNTIMES)



def detect_framework(path: Path) -> str | None:
    """Guess the framework from the artifact's file names, or None when unsure."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return frameworks.detect_framework(p.name for p in files)


def create_runtime(framework: str) -> TensorRuntime:
    """Return a fresh runtime for ``framework`` or raise ``unsupported_framework``."""
    factory = RUNTIMES.get(framework)
    if factory is None:
        raise ModelyardError(
            ErrorCode.UNSUPPORTED_FRAMEWORK,
            f"no runtime for framework {framework!r}; known: {', '.join(FRAMEWORKS)}",
        )
    return factory()
