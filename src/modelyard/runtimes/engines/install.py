"""Whether an engine can run on this machine (the one impure part of the adapters)."""

from __future__ import annotations

import importlib.util
import shutil

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.engines.catalog import ADAPTERS
from modelyard.runtimes.engines.spec import Engine


def check_installed(engine: Engine, path: str | None = None) -> None:
    """Return when ``engine``'s executable is on ``path`` (and its Python package, if any).

    Raises:
        ModelyardError: ``engine_unavailable`` naming what is missing.
    """
    adapter = ADAPTERS[engine]
    missing = []
    if shutil.which(adapter.executable, path=path) is None:
        missing.append(f"the executable {adapter.executable!r}")
    if adapter.python_module and importlib.util.find_spec(adapter.python_module) is None:
        missing.append(f"the Python package {adapter.python_module!r}")
    if missing:
        raise ModelyardError(
            ErrorCode.ENGINE_UNAVAILABLE,
            f"{engine} is not installed on this node: missing {' and '.join(missing)}",
            details={"engine": str(engine)},
        )
