"""Fixtures that start whole platforms and a trained iris model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import joblib
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tests.support.platform import PlatformProcess, cleanup_replicas


@pytest.fixture(scope="session")
def iris_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LogisticRegression]:
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    path = tmp_path_factory.mktemp("models") / "iris.joblib"
    joblib.dump(model, path)
    return path, model


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformProcess]:
    p = PlatformProcess(tmp_path / "home", env={"MODELYARD_GATEWAY__MAX_BODY_BYTES": "65536"})
    p.start()
    try:
        yield p
    finally:
        p.stop()
        cleanup_replicas(p.home)
