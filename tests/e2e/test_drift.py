"""End to end: sampled tabular traffic judged against a reference; a shifted feature raises
one drift event and ``drift drift show`` names it; same-distribution traffic raises none.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tests.support.cli import cli_json, run_cli
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for

X, _ = load_iris(return_X_y=True)
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ENV = {"MODELYARD_DRIFT__SAMPLE_RATE": "1", "MODELYARD_DRIFT__INTERVAL_S": "0.3",
       "MODELYARD_DRIFT__WINDOW_SIZE": "200", "MODELYARD_DRIFT__MIN_SAMPLES": "100",
       "MODELYARD_DRIFT__REFERENCE_SIZE": "100", "MODELYARD_METERING__FLUSH_INTERVAL_S": "0.2"}


def _rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    rows = X[rng.integers(0, len(X), n)] + rng.normal(0, 0.05, (n, 4))
    rows[:, 0] += shift
    return rows


def _send(http: httpx.Client, name: str, rows: np.ndarray) -> None:
    for chunk in np.array_split(rows, len(rows) // 20):
        body = {"inputs": [{"name": "x", "shape": list(chunk.shape), "datatype": "FP64",
                            "data": chunk.ravel().tolist()}]}
        assert http.post(f"/v2/models/{name}/infer", json=body).status_code == 200


def _report(p: PlatformProcess, name: str) -> dict[str, object]:
    out: dict[str, object] = cli_json(p.url, p.key, "drift", "show", name)
    return out


def test_drift_event_on_a_shifted_feature_only(
        tmp_path: Path, iris_model: tuple[Path, LogisticRegression]) -> None:
    rng = np.random.default_rng(7)
    reference = tmp_path / "reference.csv"
    np.savetxt(reference, _rows(rng, 1000), delimiter=",", header=",".join(COLUMNS), comments="")
    p = PlatformProcess(tmp_path / "home", env=ENV).start()
    try:
        out = cli_json(p.url, p.key, "models", "register", "iris", "--path", str(iris_model[0]),
                       "--reference", str(reference))
        assert out["reference"]["rows"] == 1000
        cli_json(p.url, p.key, "models", "register", "iris", "--path", str(iris_model[0]))
        c = p.client()
        c.deploy(name="iris", model="iris", version=1, replicas=1)
        c.deploy(name="iris-traffic", model="iris", version=2, replicas=1)  # no reference
        wait_for(lambda: all(c.deployment(n)["status"] == "ready" for n in ("iris", "iris-traffic")))
        with p.http() as http:
            # the first 100 answers are the prediction baseline of the uploaded reference
            _send(http, "iris", _rows(rng, 300))
            stable = wait_for(lambda: (r := _report(p, "iris"))["window"] == 200 and
                              r["state"] == "stable" and r)
            assert not stable["drifted"] and stable["reference"]["source"] == "upload"
            assert {f["name"] for f in stable["features"]} == {*COLUMNS, "prediction"}
            # a model version without a reference takes its first window of traffic
            _send(http, "iris-traffic", _rows(rng, 100))
            _send(http, "iris-traffic", _rows(rng, 200))
            traffic = wait_for(lambda: (r := _report(p, "iris-traffic"))["window"] == 200 and r)
            assert traffic["reference"] == {"source": "traffic", "rows": 100}
            assert traffic["state"] == "stable"
            assert c.audit(action="drift.detected") == []
            _send(http, "iris", _rows(rng, 200, shift=3.0))
            drifted = wait_for(lambda: (r := _report(p, "iris"))["drifted"] and r)
        moved = {f["name"] for f in drifted["features"] if f["drifted"]}
        assert "sepal_length" in moved and not moved & {"sepal_width", "petal_length",
                                                         "petal_width"}
        events = c.audit(action="drift.detected")
        assert len(events) == 1 and events[0]["target"] == "deployment/iris"
        table = run_cli(p.url, p.key, "drift", "show", "iris").stdout
        assert "DRIFTED" in table and "sepal_length" in table
        metrics = httpx.get(f"{p.url}/metrics", trust_env=False).text
        assert 'modelyard_drift_detected{deployment="iris"} 1.0' in metrics
        assert 'modelyard_drift_psi{deployment="iris",feature="sepal_length"}' in metrics
    finally:
        p.stop()
        cleanup_replicas(p.home)
