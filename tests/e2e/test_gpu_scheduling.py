"""GPU scheduling end to end on declared GPUs: allocation, quotas, preemption by priority.

The machine has no GPU, so the test declares two T4s on the local node; the replicas are
real sklearn processes that get ``CUDA_VISIBLE_DEVICES`` from their allocation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.linear_model import LogisticRegression

from tests.support.cli import cli_json
from tests.support.platform import PlatformProcess, wait_for


def env_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def states(p: PlatformProcess, name: str) -> list[dict[str, Any]]:
    replicas: list[dict[str, Any]] = p.client().deployment(name)["replicas"]
    return replicas


def test_gpus_quotas_and_preemption(platform: PlatformProcess,
                                    iris_model: tuple[Path, LogisticRegression]) -> None:
    url, key = platform.url, platform.key
    local = cli_json(url, key, "nodes", "list")[0]["name"]
    cli_json(url, key, "nodes", "add", local, "--gpu", "T4-16GBx2")
    c = platform.client()
    c.register("iris", iris_model[0])

    dev = cli_json(url, key, "deploy", "dev", "--model", "iris", "--version", "1",
                   "--replicas", "2", "--gpus", "1", "--gpu-model", "T4-16GB")
    assert dev["status"] == "ready"
    gpus = sorted(r["allocation"]["gpu_indexes"][0] for r in dev["replicas"])
    assert gpus == [0, 1]
    for r in dev["replicas"]:
        assert env_of(r["pid"])["CUDA_VISIBLE_DEVICES"] == str(r["allocation"]["gpu_indexes"][0])
    node = cli_json(url, key, "nodes", "show", local)
    assert [g["free_memory_bytes"] for g in node["gpus"]] == [16 * 1024**3] * 2
    assert [g["allocated_milli"] for g in node["gpus"]] == [1000, 1000]

    # production outranks dev: one dev replica is preempted, its replacement waits
    cli_json(url, key, "deploy", "prod", "--model", "iris", "--version", "1", "--replicas", "1",
             "--gpus", "1", "--env", "production")
    preempted = wait_for(lambda: [r for r in states(platform, "dev")
                                  if r["state"] == "pending" and "no node" in r["reason"]])
    assert preempted
    wait_for(lambda: c.deployment("prod")["status"] == "ready")
    assert sum(r["state"] == "ready" for r in states(platform, "dev")) == 1

    # a quota on T4s: the default team may hold one, so dev cannot come back even if prod goes
    cli_json(url, key, "quotas", "set", "default", "T4-16GB", "--guaranteed", "2")
    c.scale("prod", 0)
    wait_for(lambda: sum(r["state"] == "ready" for r in states(platform, "dev")) == 2)
    cli_json(url, key, "quotas", "set", "default", "T4-16GB", "--guaranteed", "1")
    c.scale("prod", 1)
    refused = wait_for(lambda: [r for r in states(platform, "prod")
                                if "team quota exhausted: 1/1 T4-16GB" in r["reason"]])
    assert refused[0]["state"] == "pending"
    # no dev replica was preempted for a claim the quota refuses anyway
    assert sum(r["state"] == "ready" for r in states(platform, "dev")) == 2
    assert cli_json(url, key, "quotas", "list")[0]["guaranteed"] == 1
    c.delete_deployment("prod")
    c.delete_deployment("dev")
