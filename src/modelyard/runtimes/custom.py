"""A user's own Python model class, served as a tensor runtime.

Convention (documented in ``docs/runtimes.md``):

- The artifact is a folder. Either it holds ``modelyard.yaml``::

      class: my_package.serving:Model   # "module:Class", imported with the folder on sys.path
      init_args: {threshold: 0.5}       # optional keyword arguments for the constructor
      python_path: [src]                # optional extra folders (relative) put on sys.path
      max_batch_size: 32                # optional batching defaults for this model
      max_batch_delay_ms: 2

  or, without a ``modelyard.yaml``, a ``model.py`` that defines a class ``Model``.
- The class is built with ``init_args``; ``load(path)`` is called once with the artifact
  folder; ``predict(batch)`` gets a 2-D numpy array (the merged rows of one batch) and
  returns an array with one leading row per input row, or a dict of such arrays, or a
  list (turned into an array). A single array is the output named ``predict``.

The user's code runs in the replica process after the artifact digest was verified.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import Array, BatchDefaults, Capability, Signature, TensorSpec

MANIFEST = "modelyard.yaml"
MODEL_FILE = "model.py"
DEFAULT_CLASS = "Model"


def _fail(message: str) -> ModelyardError:
    return ModelyardError(ErrorCode.UNSUPPORTED_FRAMEWORK, message)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The parsed ``modelyard.yaml`` (empty when absent)."""
    import yaml

    file = folder / MANIFEST
    if not file.is_file():
        return {}
    data = yaml.safe_load(file.read_text())
    if not isinstance(data, dict):
        raise _fail(f"{MANIFEST} must be a mapping")
    return data


def is_custom(path: Path) -> bool:
    """Whether ``path`` follows the custom-runtime convention."""
    return path.is_dir() and ((path / MANIFEST).is_file() or (path / MODEL_FILE).is_file())


def _import_class(folder: Path, manifest: dict[str, Any]) -> type[Any]:
    for extra in [".", *manifest.get("python_path", [])]:
        entry = str((folder / extra).resolve())
        if entry not in sys.path:
            sys.path.insert(0, entry)
    target = manifest.get("class")
    if target is None:
        file = folder / MODEL_FILE
        spec = importlib.util.spec_from_file_location("modelyard_user_model", file)
        if spec is None or spec.loader is None or not file.is_file():
            raise _fail(f"no {MANIFEST} and no {MODEL_FILE} in the artifact")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cls_name = DEFAULT_CLASS
    else:
        module_name, _, cls_name = str(target).partition(":")
        if not module_name or not cls_name:
            raise _fail(f"{MANIFEST}: class must look like 'package.module:Class'")
        module = importlib.import_module(module_name)
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type):
        raise _fail(f"the model class {cls_name!r} was not found")
    return cls


def _as_outputs(value: Any, rows: int) -> dict[str, Array]:
    outputs = value if isinstance(value, dict) else {"predict": value}
    result = {str(k): np.asarray(v) for k, v in outputs.items()}
    for name, arr in result.items():
        if arr.ndim == 0 or arr.shape[0] != rows:
            raise ModelyardError(ErrorCode.INTERNAL,
                                 f"predict() returned {name!r} without one row per input row")
    return result


class CustomRuntime:
    """Serves a user-defined class (see the module docstring for the convention)."""

    capability = Capability.TENSOR

    def __init__(self) -> None:
        self._model: Any = None
        self.batch_defaults = BatchDefaults(max_batch_size=32, max_batch_delay_ms=1.0)

    def load(self, path: Path) -> None:
        """Import the class, build it and call its ``load`` once."""
        folder = path if path.is_dir() else path.parent
        manifest = read_manifest(folder)
        cls = _import_class(folder, manifest)
        self._model = cls(**dict(manifest.get("init_args") or {}))
        if hasattr(self._model, "load"):
            self._model.load(folder)
        if not callable(getattr(self._model, "predict", None)):
            raise _fail("the model class has no predict(batch) method")
        self.batch_defaults = BatchDefaults(
            int(manifest.get("max_batch_size", self.batch_defaults.max_batch_size)),
            float(manifest.get("max_batch_delay_ms", self.batch_defaults.max_batch_delay_ms)),
        )

    def signature(self) -> Signature:
        """A generic signature: rows in, ``predict`` out."""
        return Signature(inputs=(TensorSpec("input-0", "FP64", (-1, -1)),),
                         outputs=(TensorSpec("predict", "FP64", (-1,)),))

    def predict(self, rows: Array, outputs: Sequence[str]) -> dict[str, Array]:
        """Call the user's ``predict`` on the batch and pick the requested outputs."""
        result = _as_outputs(self._model.predict(rows), int(rows.shape[0]))
        wanted = list(outputs) or list(result)
        missing = [w for w in wanted if w not in result]
        if missing:
            raise ModelyardError(ErrorCode.INVALID_INPUT, f"unknown output {missing[0]!r}")
        return {w: result[w] for w in wanted}
