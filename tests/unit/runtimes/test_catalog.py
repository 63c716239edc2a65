"""Framework detection from artifact files, and runtime creation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.catalog import FRAMEWORKS, create_runtime, detect_framework
from modelyard.runtimes.server import ReplicaConfig, instance_count


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


LLAMA = json.dumps({"architectures": ["LlamaForCausalLM"]})
BERT = json.dumps({"architectures": ["BertModel"]})


@pytest.mark.parametrize(("files", "expected"), [
    ({"m.onnx": ""}, "onnx"),
    ({"m.joblib": ""}, "sklearn"),
    ({"config.json": LLAMA, "tokenizer.json": "{}", "model.safetensors": ""}, "transformers"),
    ({"config.json": LLAMA}, None),  # no tokenizer
    ({"config.json": BERT, "tokenizer.json": "{}"}, None),
    ({"modules.json": "[]", "config.json": BERT, "tokenizer.json": "{}"}, "embeddings"),
    ({"model.py": "", "weights.onnx": ""}, "custom"),
    ({"modelyard.yaml": "class: m:M"}, "custom"),
    ({"a.onnx": "", "b.joblib": ""}, None),
    ({"readme.txt": ""}, None),
])
def test_detect_framework(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    assert detect_framework(make(tmp_path, files)) == expected


def test_a_single_file_is_detected_by_suffix(tmp_path: Path) -> None:
    file = tmp_path / "x.onnx"
    file.write_text("")
    assert detect_framework(file) == "onnx"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_framework_has_a_runtime(framework: str) -> None:
    runtime = create_runtime(framework)
    assert runtime.batch_defaults.max_batch_size >= 1


def test_unknown_framework(tmp_path: Path) -> None:
    with pytest.raises(ModelyardError) as info:
        create_runtime("tensorflow")
    assert info.value.code == ErrorCode.UNSUPPORTED_FRAMEWORK


@pytest.mark.parametrize(("framework", "flag", "expected"), [
    ("sklearn", None, 1),            # the runtime's default
    ("sklearn", 3, 3),               # the flag wins
    ("embeddings", None, 2 if (os.cpu_count() or 1) >= 2 else 1),  # on a CPU: two
    ("embeddings", 1, 1),
    ("transformers", 4, 1),          # generation keeps one instance
])
def test_instance_count(framework: str, flag: int | None, expected: int) -> None:
    config = ReplicaConfig("m", "1", Path("."), "sha256:x", framework, instances=flag)
    assert instance_count(config, create_runtime(framework)) == expected
