"""Known model frameworks and how one is recognised from an artifact's file names.

Pure: it looks at names only. The runtimes register an implementation per framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from modelyard.domain.errors import ErrorCode, ModelyardError

FRAMEWORKS: tuple[str, ...] = ("sklearn",)

SUFFIX_FRAMEWORK: Mapping[str, str] = MappingProxyType({
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".skops": "sklearn",
})


def detect_framework(names: Iterable[str]) -> str | None:
    """Return the one framework that the file names point to, else None."""
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
