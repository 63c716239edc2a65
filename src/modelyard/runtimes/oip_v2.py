"""Open Inference Protocol v2 (and KServe v1) codec for tensor runtimes.

Decodes request bodies into numpy batches and encodes output arrays back. Every
malformed body is an ``invalid_input`` error naming what is wrong, never an exception
from numpy leaking out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import Array

DTYPES: Mapping[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}
MAX_ELEMENTS = 10_000_000


class RequestInput(BaseModel):
    """One input tensor of an inference request."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(max_length=256)
    shape: list[int] = Field(max_length=8)
    datatype: str
    data: list[Any]


class RequestOutput(BaseModel):
    """One requested output."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(max_length=256)


class InferRequest(BaseModel):
    """An OIP v2 inference request body."""

    model_config = ConfigDict(extra="allow")
    id: str | None = Field(default=None, max_length=256)
    inputs: list[RequestInput] = Field(min_length=1, max_length=64)
    outputs: list[RequestOutput] = Field(default_factory=list, max_length=64)


def _invalid(message: str) -> ModelyardError:
    return ModelyardError(ErrorCode.INVALID_INPUT, message)


def _parse(model: type[BaseModel], body: object) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise _invalid(f"{where}: {first['msg']}") from None


def _tensor(inp: RequestInput) -> Array:
    dtype = DTYPES.get(inp.datatype)
    if dtype is None:
        raise _invalid(f"input {inp.name!r}: unknown datatype {inp.datatype!r}")
    if any(d < 0 for d in inp.shape):
        raise _invalid(f"input {inp.name!r}: negative dimension in shape {inp.shape}")
    count = int(np.prod(inp.shape)) if inp.shape else 1
    if count > MAX_ELEMENTS:
        raise _invalid(f"input {inp.name!r}: {count} elements is over the limit")
    try:
        arr = np.asarray(inp.data, dtype=dtype)
        return arr.reshape(inp.shape)
    except (ValueError, TypeError) as exc:
        raise _invalid(f"input {inp.name!r}: data does not fit shape {inp.shape} "
                       f"and datatype {inp.datatype}: {exc}") from None


def decode_infer(body: object) -> tuple[str | None, Array, list[str]]:
    """Return ``(request id, 2-D batch, requested output names)`` of an OIP v2 body.

    Several 1-column or 2-D inputs are joined side by side into one batch of rows.
    """
    req: InferRequest = _parse(InferRequest, body)
    columns = []
    for inp in req.inputs:
        arr = _tensor(inp)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1) if len(req.inputs) > 1 else arr.reshape(1, -1)
        if arr.ndim != 2:
            raise _invalid(f"input {inp.name!r}: expected 1-D or 2-D data, got shape {inp.shape}")
        columns.append(arr)
    if len({c.shape[0] for c in columns}) != 1:
        raise _invalid("inputs have different numbers of rows")
    rows = columns[0] if len(columns) == 1 else np.concatenate(columns, axis=1)
    return req.id, rows, [o.name for o in req.outputs]


def decode_instances(body: object) -> Array:
    """Return the batch of a KServe v1 ``{"instances": [...]}`` body."""
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
        raise _invalid('expected {"instances": [[...], ...]}')
    instances = body["instances"]
    if not instances or len(instances) > 100_000:
        raise _invalid("instances must hold 1 to 100000 rows")
    try:
        rows = np.asarray(instances)
    except (ValueError, TypeError) as exc:
        raise _invalid(f"instances are not a rectangular array: {exc}") from None
    if rows.dtype.kind not in "biuf":
        raise _invalid("instances must be numbers")
    return rows.reshape(1, -1) if rows.ndim == 1 else rows


def datatype_of(arr: Array) -> str:
    """Return the OIP v2 datatype of ``arr``."""
    kind = arr.dtype
    for name, dt in DTYPES.items():
        if name != "BYTES" and kind == np.dtype(dt):
            return name
    return "BYTES"


def _jsonable(arr: Array) -> list[Any]:
    if arr.dtype.kind in "OUS":
        return [str(v) for v in arr.reshape(-1)]
    values: list[Any] = arr.reshape(-1).tolist()
    return values


def encode_outputs(
    model_name: str, model_version: str, request_id: str | None, outputs: Mapping[str, Array]
) -> dict[str, Any]:
    """Return the OIP v2 response body for named output arrays."""
    body: dict[str, Any] = {
        "model_name": model_name,
        "model_version": model_version,
        "outputs": [
            {"name": n, "shape": list(a.shape), "datatype": datatype_of(a), "data": _jsonable(a)}
            for n, a in outputs.items()
        ],
    }
    if request_id is not None:
        body["id"] = request_id
    return body


def encode_predictions(outputs: Mapping[str, Array], names: Sequence[str]) -> dict[str, Any]:
    """Return the KServe v1 ``{"predictions": [...]}`` body."""
    arr = outputs[names[0]]
    return {"predictions": [str(v) for v in arr] if arr.dtype.kind in "OUS" else arr.tolist()}
