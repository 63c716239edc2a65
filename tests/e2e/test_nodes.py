"""Node inventory: the local node is discovered, GPUs can be declared, cordon and drain bind."""

from __future__ import annotations

from pathlib import Path

from sklearn.linear_model import LogisticRegression

from tests.support.cli import cli_json
from tests.support.platform import PlatformProcess, replica_pids, wait_for


def test_inventory_cordon_and_drain(platform: PlatformProcess,
                                    iris_model: tuple[Path, LogisticRegression]) -> None:
    url, key = platform.url, platform.key
    nodes = cli_json(url, key, "nodes", "list")
    assert len(nodes) == 1 and nodes[0]["source"] == "discovered"
    local = nodes[0]["name"]
    assert nodes[0]["cpu_milli"] >= 1000 and nodes[0]["memory_mib"] > 0

    declared = cli_json(url, key, "nodes", "add", local, "--gpu", "T4-16GBx2",
                        "--label", "zone=a")
    assert declared["source"] == "declared" and [g["model"] for g in declared["gpus"]] == [
        "T4-16GB", "T4-16GB"]
    assert declared["gpus"][0]["free_memory_bytes"] == 16 * 1024**3
    assert declared["labels"]["zone"] == "a"

    c = platform.client()
    c.register("iris", iris_model[0])
    c.deploy(name="iris", model="iris", version=1, replicas=1)
    wait_for(lambda: c.deployment("iris")["status"] == "ready")
    assert cli_json(url, key, "nodes", "show", local)["replicas"] != []

    # drain: the replica stops, its replacement cannot land on the cordoned node
    assert cli_json(url, key, "nodes", "drain", local)["cordoned"] is True
    pending = wait_for(lambda: [r for r in c.deployment("iris")["replicas"]
                                if r["state"] == "pending" and "cordoned" in r["reason"]])
    assert "unschedulable" in pending[0]["reason"]
    wait_for(lambda: replica_pids(platform.home) == set())

    cli_json(url, key, "nodes", "uncordon", local)
    wait_for(lambda: c.deployment("iris")["status"] == "ready")
    assert cli_json(url, key, "nodes", "list")[0]["cordoned"] is False
    c.delete_deployment("iris")
    wait_for(lambda: replica_pids(platform.home) == set())

    # taints keep replicas away unless tolerated; node selectors must match labels
    tainted = cli_json(url, key, "nodes", "add", local, "--gpu", "T4-16GBx2",
                       "--taint", "dedicated=ml")
    assert tainted["taints"] == ["dedicated=ml"]
    cli_json(url, key, "deploy", "plain", "--model", "iris", "--version", "1", "--no-wait")
    cli_json(url, key, "deploy", "tolerant", "--model", "iris", "--version", "1", "--no-wait",
             "--toleration", "dedicated=ml", "--node-selector", "zone=a")
    cli_json(url, key, "deploy", "picky", "--model", "iris", "--version", "1", "--no-wait",
             "--toleration", "dedicated", "--node-selector", "zone=b")
    wait_for(lambda: c.deployment("tolerant")["status"] == "ready")
    assert "taint dedicated=ml not tolerated" in c.deployment("plain")["replicas"][0]["reason"]
    assert c.deployment("picky")["replicas"][0]["state"] == "pending"
    assert "label zone=b missing" in c.deployment("picky")["replicas"][0]["reason"]
    for name in ("plain", "tolerant", "picky"):
        c.delete_deployment(name)
    wait_for(lambda: replica_pids(platform.home) == set())
