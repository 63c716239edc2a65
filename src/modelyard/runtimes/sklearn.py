"""scikit-learn runtime: loads ``.joblib``/``.pkl`` and the safe ``.skops`` format.

``.skops`` files are loaded with skops' default trusted set only: a file that needs any
other type is refused with the list of those types, never executed. Pickle-based formats
(``.joblib``, ``.pkl``) execute code on load, so they are only ever loaded after the
artifact's digest has been verified against the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import Array, BatchDefaults, Capability, Signature, TensorSpec

SUFFIXES = (".joblib", ".pkl", ".pickle", ".skops")


def find_model_file(path: Path) -> Path:
    """Return the model file in ``path`` (the file itself, or the only one in a folder)."""
    if path.is_file():
        return path
    found = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    if len(found) != 1:
        raise ModelyardError(
            ErrorCode.UNSUPPORTED_FRAMEWORK,
            f"expected exactly one scikit-learn file ({', '.join(SUFFIXES)}), found {len(found)}",
        )
    return found[0]


def _load_skops(path: Path) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    if untrusted:
        raise ModelyardError(
            ErrorCode.INVALID_INPUT,
            "the .skops file needs types that are not trusted: " + ", ".join(untrusted[:10]),
        )
    return sio.load(path)


class SklearnRuntime:
    """Serves a fitted scikit-learn estimator or pipeline."""

    capability = Capability.TENSOR
    batch_defaults = BatchDefaults(max_batch_size=64, max_batch_delay_ms=1.0)

    def __init__(self) -> None:
        self._model: Any = None
        self._n_features: int = -1

    def load(self, path: Path) -> None:
        """Load the estimator from ``path``."""
        file = find_model_file(path)
        if file.suffix == ".skops":
            model = _load_skops(file)
        elif file.suffix in SUFFIXES:
            import joblib

            model = joblib.load(file)
        else:
            raise ModelyardError(
                ErrorCode.UNSUPPORTED_FRAMEWORK, f"not a scikit-learn file: {file.name}"
            )
        if not hasattr(model, "predict"):
            raise ModelyardError(ErrorCode.UNSUPPORTED_FRAMEWORK, "the object has no predict()")
        self._model = model
        self._n_features = int(getattr(model, "n_features_in_", -1))

    def signature(self) -> Signature:
        """Describe the estimator's input and outputs."""
        outputs = [TensorSpec("predict", "BYTES" if self._string_labels() else "INT64", (-1,))]
        if hasattr(self._model, "predict_proba"):
            n_classes = len(getattr(self._model, "classes_", []))
            outputs.append(TensorSpec("predict_proba", "FP64", (-1, n_classes or -1)))
        return Signature(
            inputs=(TensorSpec("input-0", "FP64", (-1, self._n_features)),),
            outputs=tuple(outputs),
        )

    def _string_labels(self) -> bool:
        classes = getattr(self._model, "classes_", None)
        return classes is not None and np.asarray(classes).dtype.kind in "OUS"

    def predict(self, rows: Array, outputs: Sequence[str]) -> dict[str, Array]:
        """Run the estimator on a 2-D batch of rows."""
        if rows.ndim != 2:
            raise ModelyardError(
                ErrorCode.INVALID_INPUT, f"expected a 2-D batch of rows, got shape {rows.shape}"
            )
        if self._n_features >= 0 and rows.shape[1] != self._n_features:
            raise ModelyardError(
                ErrorCode.INVALID_INPUT,
                f"expected {self._n_features} features per row, got {rows.shape[1]}",
            )
        wanted = list(outputs) or ["predict"]
        result: dict[str, Array] = {}
        for name in wanted:
            if name == "predict":
                result[name] = np.asarray(self._model.predict(rows))
            elif name == "predict_proba" and hasattr(self._model, "predict_proba"):
                result[name] = np.asarray(self._model.predict_proba(rows), dtype=np.float64)
            else:
                raise ModelyardError(ErrorCode.INVALID_INPUT, f"unknown output {name!r}")
        return result
