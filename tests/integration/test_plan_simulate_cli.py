"""``modelyard plan`` and ``modelyard simulate`` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

LLAMA2_7B = {
    "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 11008,
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
    "vocab_size": 32000, "max_position_embeddings": 4096, "tie_word_embeddings": False,
    "model_type": "llama",
}
LLAMA2_70B = {**LLAMA2_7B, "hidden_size": 8192, "intermediate_size": 28672,
              "num_attention_heads": 64, "num_hidden_layers": 80, "num_key_value_heads": 8}
SLICE = Path(__file__).resolve().parents[1] / "data" / "openb-slice"  # 79 nodes, 599 tasks


def cli(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "modelyard", *args, "-o", "json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out: dict[str, object] = json.loads(done.stdout)
    return out


def test_plan_7b_and_70b(tmp_path: Path) -> None:
    (tmp_path / "7b").mkdir()
    (tmp_path / "7b" / "config.json").write_text(json.dumps(LLAMA2_7B))
    (tmp_path / "70b.json").write_text(json.dumps(LLAMA2_70B))
    small = cli("plan", "--model", str(tmp_path / "7b"), "--gpu", "L4-24GB", "--dtype", "fp16",
                "--max-model-len", "1024", "--max-num-seqs", "1")
    assert 13.3e9 < small["weight_bytes"] < 13.6e9  # type: ignore[operator]
    assert small["smallest_tensor_parallel"] == 1
    big = cli("plan", "--model", str(tmp_path / "70b.json"), "--gpu", "H100-80GB",
              "--dtype", "fp16", "--max-model-len", "4096")
    assert big["smallest_tensor_parallel"] in (2, 4)
    assert any("TP=1" in line and "too big" in line for line in big["explanation"])  # type: ignore[attr-defined]


def test_plan_counts_safetensors_without_loading(tmp_path: Path) -> None:
    tiny = {**LLAMA2_7B, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
            "num_key_value_heads": 4, "num_hidden_layers": 2, "vocab_size": 100}
    (tmp_path / "config.json").write_text(json.dumps(tiny))
    save_file({"a": torch.zeros(10, 10), "b": torch.zeros(7)}, str(tmp_path / "model.safetensors"))
    report = cli("plan", "--model", str(tmp_path), "--gpu", "T4-16GB")
    assert report["parameter_count"] == 107
    assert "safetensors" in str(report["parameter_source"])


def test_simulate_small_trace() -> None:
    nodes, pods = SLICE / "nodes.csv", SLICE / "pods.csv"
    arrivals = cli("simulate", "--nodes", str(nodes), "--pods", str(pods), "--policy", "fgd-plus")
    assert arrivals["mode"] == "arrivals" and arrivals["nodes"] == 79
    assert 0.5 < arrivals["allocation_ratio"] <= 1.0  # type: ignore[operator]
    assert arrivals["placed"] + arrivals["pending"] == arrivals["tasks"]  # type: ignore[operator]
    timed = cli("simulate", "--nodes", str(nodes), "--pods", str(pods), "--policy", "best-fit",
                "--timed")
    assert timed["placed"] + timed["pending"] >= 599  # type: ignore[operator]
