"""Deliberately bad estimators for rollout tests, pickled by reference with joblib.

Replica processes import this module when they load such an artifact, so the repository
root must be on their PYTHONPATH (the rollout tests set it).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


class FailingClassifier(LogisticRegression):
    """Raises for about half of all rows (those whose feature sum rounds to an even tenth)."""

    def predict(self, X: Any) -> Any:  # noqa: N803 - scikit-learn's argument name
        rows = np.asarray(X, dtype=np.float64)
        if np.any(np.round(rows.sum(axis=1) * 10).astype(np.int64) % 2 == 0):
            raise RuntimeError("deliberately broken model")
        return super().predict(X)


class SlowClassifier(LogisticRegression):
    """Answers right, 50 ms late."""

    def predict(self, X: Any) -> Any:  # noqa: N803 - scikit-learn's argument name
        time.sleep(0.05)
        return super().predict(X)
