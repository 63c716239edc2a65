"""OIP v2 / KServe v1 codec: shapes, datatypes and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.oip_v2 import (
    decode_infer,
    decode_instances,
    encode_outputs,
    encode_predictions,
)


def body(shape: list[int], data: list[object], datatype: str = "FP64") -> dict[str, object]:
    return {"inputs": [{"name": "x", "shape": shape, "datatype": datatype, "data": data}]}


def test_decode_flat_and_nested() -> None:
    _, rows, outs = decode_infer(body([2, 2], [1, 2, 3, 4]))
    assert rows.tolist() == [[1, 2], [3, 4]] and outs == []
    _, rows, _ = decode_infer(body([2, 2], [[1, 2], [3, 4]]))
    assert rows.shape == (2, 2)
    _, rows, _ = decode_infer(body([3], [1, 2, 3]))
    assert rows.shape == (1, 3)


def test_several_column_inputs_join() -> None:
    b = {"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]},
                    {"name": "b", "shape": [2], "datatype": "FP32", "data": [3, 4]}],
         "outputs": [{"name": "predict_proba"}], "id": "r1"}
    rid, rows, outs = decode_infer(b)
    assert rid == "r1" and rows.tolist() == [[1, 3], [2, 4]] and outs == ["predict_proba"]


@pytest.mark.parametrize("bad", [
    {}, {"inputs": []}, {"inputs": "x"}, [], "x", 1, None,
    body([2, 2], [1, 2, 3]),
    body([2, 2], [1, 2, 3, 4], "FP99"),
    body([-1, 2], [1, 2]),
    body([2, 2], ["a", "b", "c", "d"]),
    body([1, 1, 1], [1]),
    body([10**5, 10**5], [1]),
    {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2]},
                {"name": "y", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]},
])
def test_invalid_inputs(bad: object) -> None:
    with pytest.raises(ModelyardError) as info:
        decode_infer(bad)
    assert info.value.code == ErrorCode.INVALID_INPUT


@pytest.mark.parametrize("bad", [{}, {"instances": []}, {"instances": [["a"]]},
                                 {"instances": [[1, 2], [3]]}, [1]])
def test_invalid_instances(bad: object) -> None:
    with pytest.raises(ModelyardError):
        decode_instances(bad)


def test_encode() -> None:
    out = encode_outputs("m", "1", "id", {"predict": np.array([1, 2]),
                                          "p": np.array([[0.5, 0.5]])})
    assert out["outputs"][0] == {"name": "predict", "shape": [2], "datatype": "INT64", "data": [1, 2]}
    assert out["outputs"][1]["datatype"] == "FP64" and out["id"] == "id"
    labels = encode_predictions({"predict": np.array(["a", "b"], dtype=object)}, ["predict"])
    assert labels == {"predictions": ["a", "b"]}
