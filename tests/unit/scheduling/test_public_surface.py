"""Every scheduling module declares its public surface, and pure modules stay pure."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import modelyard

SRC = Path(modelyard.__file__).parent
MODULES = sorted(
    [f"modelyard.scheduling.{p.stem}" for p in (SRC / "scheduling").glob("*.py") if p.stem != "__init__"]
    + ["modelyard.domain.inventory", "modelyard.domain.quotas"]
)
FORBIDDEN = {"asyncio", "sqlalchemy", "httpx", "ray", "subprocess", "fastapi", "starlette", "logging"}


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    assert module.__all__ and all(hasattr(module, n) for n in module.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_pure_modules_import_no_io_or_logging(name: str) -> None:
    path = SRC / Path(*name.split(".")[1:]).with_suffix(".py")
    tree = ast.parse(path.read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert not imported & FORBIDDEN
