"""ONNX models with onnxruntime.

The artifact is one ``.onnx`` file (or a folder holding exactly one). Rows are fed to
the model's single input, or split by columns across several 2-D inputs in declared
order. Outputs keep their ONNX names; ``predict`` (KServe v1) names the first one.
Sequence-of-map outputs (scikit-learn classifiers converted with ZipMap) become a 2-D
array with one column per key in sorted order. Uses CUDA when onnxruntime offers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import Array, BatchDefaults, Capability, Signature, TensorSpec

SUFFIX = ".onnx"
ONNX_DATATYPES = {
    "tensor(float)": ("FP32", np.float32),
    "tensor(double)": ("FP64", np.float64),
    "tensor(float16)": ("FP16", np.float16),
    "tensor(int64)": ("INT64", np.int64),
    "tensor(int32)": ("INT32", np.int32),
    "tensor(int8)": ("INT8", np.int8),
    "tensor(uint8)": ("UINT8", np.uint8),
    "tensor(bool)": ("BOOL", np.bool_),
    "tensor(string)": ("BYTES", np.object_),
}


def find_onnx_file(path: Path) -> Path:
    """The ``.onnx`` file at ``path`` or the only one under it."""
    if path.is_file():
        return path
    found = sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
    if len(found) != 1:
        raise ModelyardError(ErrorCode.UNSUPPORTED_FRAMEWORK,
                             f"expected exactly one {SUFFIX} file, found {len(found)}")
    return found[0]


def _shape(dims: Sequence[Any]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else -1 for d in dims)


def _as_array(value: Any) -> Array:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        keys = sorted(value[0])
        return np.asarray([[row[k] for k in keys] for row in value], dtype=np.float64)
    return np.asarray(value)


class OnnxRuntime:
    """Serves an ONNX model as a tensor runtime."""

    capability = Capability.TENSOR
    batch_defaults = BatchDefaults(max_batch_size=64, max_batch_delay_ms=1.0)

    def __init__(self) -> None:
        self._session: Any = None

    def load(self, path: Path) -> None:
        """Open an inference session on the model file."""
        import onnxruntime as ort

        available = ort.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        self._session = ort.InferenceSession(str(find_onnx_file(path)), providers=providers)

    def signature(self) -> Signature:
        """Inputs and outputs as the model declares them."""

        def spec(node: Any) -> TensorSpec:
            datatype = ONNX_DATATYPES.get(node.type, ("BYTES", np.object_))[0]
            return TensorSpec(node.name, datatype, _shape(node.shape))

        return Signature(
            inputs=tuple(spec(n) for n in self._session.get_inputs()),
            outputs=tuple(spec(n) for n in self._session.get_outputs()),
        )

    def _feeds(self, rows: Array) -> dict[str, Array]:
        inputs = self._session.get_inputs()
        if rows.ndim != 2:
            raise ModelyardError(ErrorCode.INVALID_INPUT, f"expected 2-D rows, got {rows.shape}")
        widths = [n.shape[1] if len(n.shape) == 2 and isinstance(n.shape[1], int) else -1
                  for n in inputs]
        if len(inputs) == 1:
            widths = [rows.shape[1]]
        if any(w < 0 for w in widths) or sum(widths) != rows.shape[1]:
            raise ModelyardError(ErrorCode.INVALID_INPUT,
                                 f"expected {sum(widths)} columns, got {rows.shape[1]}")
        feeds: dict[str, Array] = {}
        start = 0
        for node, width in zip(inputs, widths, strict=True):
            dtype = ONNX_DATATYPES.get(node.type, ("FP32", np.float32))[1]
            try:
                feeds[node.name] = rows[:, start:start + width].astype(dtype)
            except (TypeError, ValueError) as exc:
                raise ModelyardError(
                    ErrorCode.INVALID_INPUT, f"input {node.name!r}: {exc}"
                ) from None
            start += width
        return feeds

    def predict(self, rows: Array, outputs: Sequence[str]) -> dict[str, Array]:
        """Run the model; all outputs when ``outputs`` is empty."""
        names = [n.name for n in self._session.get_outputs()]
        wanted = list(outputs) or names
        aliases = {"predict": names[0]}
        unknown = [w for w in wanted if w not in names and w not in aliases]
        if unknown:
            raise ModelyardError(ErrorCode.INVALID_INPUT, f"unknown output {unknown[0]!r}")
        fetch = [aliases.get(w, w) if w not in names else w for w in wanted]
        values = self._session.run(fetch, self._feeds(rows))
        return {w: _as_array(v) for w, v in zip(wanted, values, strict=True)}
