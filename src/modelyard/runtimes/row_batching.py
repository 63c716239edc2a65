"""Merging tensor requests into one batch of rows, and splitting the outputs back.

Pure functions over numpy arrays, used as the ``forward`` of a ``Batcher`` for tensor
runtimes (scikit-learn, ONNX, custom). Requests are grouped by what can be stacked (same
number of columns, same dtype, same requested outputs); each group is one ``predict``.
Every output must have one leading row per input row, or the split is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import Array, TensorRuntime

Outputs = dict[str, Array]


@dataclass(frozen=True)
class TensorRequest:
    """One request's rows (2-D) and the outputs it asked for (empty = defaults)."""

    rows: Array
    outputs: tuple[str, ...]


def rows_of(request: TensorRequest) -> int:
    """Rows a request adds to a batch."""
    return int(request.rows.shape[0]) if request.rows.ndim else 1


def _group_key(req: TensorRequest) -> tuple[object, ...]:
    return (req.rows.shape[1:], req.rows.dtype.str, req.outputs)


def split_outputs(outputs: Outputs, counts: Sequence[int]) -> list[Outputs]:
    """Split each output's leading axis into pieces of ``counts`` rows."""
    total = sum(counts)
    for name, arr in outputs.items():
        if arr.ndim == 0 or arr.shape[0] != total:
            raise ModelyardError(
                ErrorCode.INTERNAL,
                f"output {name!r} has {arr.shape[0] if arr.ndim else 0} rows for {total} inputs",
            )
    cuts = np.cumsum(counts)[:-1]
    pieces = {name: np.split(arr, cuts) for name, arr in outputs.items()}
    return [{name: pieces[name][i] for name in outputs} for i in range(len(counts))]


def predict_batch(runtime: TensorRuntime, requests: Sequence[TensorRequest]) -> list[Outputs]:
    """Answer ``requests`` with as few ``predict`` calls as the inputs allow."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, req in enumerate(requests):
        groups.setdefault(_group_key(req), []).append(i)
    results: list[Outputs | None] = [None] * len(requests)
    for indices in groups.values():
        members = [requests[i] for i in indices]
        rows = members[0].rows if len(members) == 1 else np.concatenate([m.rows for m in members])
        outputs = runtime.predict(rows, list(members[0].outputs))
        for i, part in zip(indices, split_outputs(outputs, [rows_of(m) for m in members]),
                           strict=True):
            results[i] = part
    return [r for r in results if r is not None]


def tensor_forward(runtime: TensorRuntime) -> Callable[[Sequence[TensorRequest]], list[Outputs]]:
    """The batcher's ``forward`` for a tensor runtime."""

    def forward(requests: Sequence[TensorRequest]) -> list[Outputs]:
        return predict_batch(runtime, requests)

    return forward
