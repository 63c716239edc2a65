"""A replica refuses corrupt artifacts and unloadable models with its exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.registry.digests import digest_path
from modelyard.runtimes.server import EXIT_ARTIFACT_CORRUPT, EXIT_LOAD_FAILED
from tests.integration.runtimes.conftest import Built, launch


def test_digest_mismatch_exits_78(built: Built, tmp_path: Path) -> None:
    replica = launch("bad", built.onnx, "onnx", tmp_path, digest="sha256:" + "0" * 64)
    assert replica.proc.wait(timeout=60) == EXIT_ARTIFACT_CORRUPT
    assert "artifact_corrupt" in replica.log.read_text()


@pytest.mark.parametrize("framework", ["onnx", "transformers"])
def test_unloadable_model_exits_77(tmp_path: Path, framework: str) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    replica = launch("bad", bad, framework, tmp_path, digest=digest_path(bad))
    assert replica.proc.wait(timeout=60) == EXIT_LOAD_FAILED
