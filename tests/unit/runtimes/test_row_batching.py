"""Merging tensor requests and splitting outputs back, over a real custom runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelyard.domain.errors import ModelyardError
from modelyard.runtimes.custom import CustomRuntime
from modelyard.runtimes.row_batching import TensorRequest, predict_batch, split_outputs


@pytest.fixture
def runtime(tmp_path: Path) -> CustomRuntime:
    pkg = tmp_path / "src" / "userpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "serving.py").write_text(
        "import numpy as np\n"
        "class Scaler:\n"
        "    def __init__(self, factor):\n"
        "        self.factor = factor\n"
        "        self.calls = 0\n"
        "    def load(self, path):\n"
        "        self.loaded_from = path\n"
        "    def predict(self, batch):\n"
        "        self.calls += 1\n"
        "        return batch[:, 0] * self.factor\n"
    )
    (tmp_path / "modelyard.yaml").write_text(
        "class: userpkg.serving:Scaler\ninit_args: {factor: 10}\npython_path: [src]\n"
        "max_batch_size: 7\n"
    )
    rt = CustomRuntime()
    rt.load(tmp_path)
    return rt


def test_manifest_sets_class_args_and_batch_defaults(runtime: CustomRuntime) -> None:
    assert runtime.batch_defaults.max_batch_size == 7


def test_requests_are_merged_into_one_call_and_split(runtime: CustomRuntime) -> None:
    a = TensorRequest(np.array([[1.0, 0], [2.0, 0]]), ())
    b = TensorRequest(np.array([[3.0, 0]]), ())
    c = TensorRequest(np.array([[4.0, 0, 0]]), ())  # another width: its own call
    out = predict_batch(runtime, [a, b, c])
    assert [o["predict"].tolist() for o in out] == [[10.0, 20.0], [30.0], [40.0]]
    assert runtime._model.calls == 2


def test_split_refuses_outputs_without_one_row_per_input() -> None:
    with pytest.raises(ModelyardError):
        split_outputs({"y": np.zeros(3)}, [1, 1])
