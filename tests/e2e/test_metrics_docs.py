"""Every metric family of a running platform and of a replica is valid Prometheus text and
documented in docs/metrics.md; every PromQL expression of the Grafana dashboard names a
documented family. Replicas log the incoming X-Request-Id in their JSON logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LogisticRegression

from tests.support.platform import PlatformProcess, wait_for

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "metrics.md").read_text()
DASHBOARD = ROOT / "deploy" / "grafana" / "modelyard.json"
ROW = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [6.7, 3.0, 5.2, 2.3]}]}
BAD = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}]}
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def documented(name: str) -> bool:
    """A family (as the parser names it) or a series name listed in the docs."""
    base = name
    for suffix in SUFFIXES:
        base = base.removesuffix(suffix)
    return any(f"`{n}`" in DOC for n in {name, base, f"{base}_total"})


def families(text: str) -> set[str]:
    return {f.name for f in text_string_to_metric_families(text)}


def test_every_exported_family_is_documented(platform: PlatformProcess,
                                             iris_model: tuple[Path, LogisticRegression]) -> None:
    c = platform.client()
    c.register("iris", iris_model[0])
    c.deploy(name="iris", model="iris", version=1, replicas=1)
    wait_for(lambda: c.deployment("iris")["status"] == "ready")
    with platform.http() as http:
        assert http.post("/v2/models/iris/infer", json=ROW).status_code == 200
        assert http.post("/v2/models/iris/infer", json=BAD,
                         headers={"X-Request-Id": "trace-me-42"}).status_code == 422
    server = families(httpx.get(f"{platform.url}/metrics", trust_env=False).text)
    replica_url = c.replicas("iris")[0]["url"]
    replica = families(httpx.get(f"{replica_url}/metrics", trust_env=False).text)
    assert "modelyard_gateway_requests" in server and "modelyard_replica_batch_size" in replica
    missing = sorted(n for n in server | replica if not documented(n))
    assert missing == [], f"undocumented metric families: {missing}"
    # the replica's JSON log carries the gateway-forwarded request id
    log = next((platform.home / "logs").glob("iris-*.log"))
    lines = wait_for(lambda: [json.loads(x) for x in log.read_text().splitlines()
                              if "trace-me-42" in x])
    assert lines[0]["request_id"] == "trace-me-42" and lines[0]["status"] == 422


def test_dashboard_queries_name_documented_metrics() -> None:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) > 20
    named = {m for e in exprs for m in re.findall(r"\b(modelyard_[a-z0-9_]+)", e)}
    assert named and all(documented(n) for n in named), sorted(n for n in named if not documented(n))
    rows = {p["title"] for p in dash["panels"] if p["type"] == "row"}
    assert {"Traffic", "Latency", "Errors", "Queue", "GPU allocation and utilisation",
            "Usage and cost", "Drift"} <= rows
