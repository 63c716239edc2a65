"""OIP v2, KServe v1 and metrics on real sklearn, ONNX and custom replicas."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pytest

from tests.integration.runtimes.conftest import Built, Replica

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def infer_body(rows: list[list[float]], outputs: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"inputs": [{"name": "input", "shape": [len(rows), 4],
                                        "datatype": "FP32", "data": rows}]}
    if outputs:
        body["outputs"] = [{"name": n} for n in outputs]
    return body


@pytest.mark.parametrize("name", ["iris", "iris-onnx"])
def test_oip_v2_and_kserve_v1_predict_like_the_model(
    replicas: dict[str, Replica], built: Built, name: str
) -> None:
    url = replicas[name].url
    expected = built.model.predict(np.asarray(ROWS)).tolist()  # type: ignore[attr-defined]
    r = httpx.post(f"{url}/v2/models/{name}/infer", json=infer_body(ROWS))
    assert r.status_code == 200, r.text
    first = r.json()["outputs"][0]
    assert first["shape"][0] == 3 and first["data"] == expected
    v1 = httpx.post(f"{url}/v1/models/{name}:predict", json={"instances": ROWS})
    assert v1.status_code == 200 and v1.json() == {"predictions": expected}
    meta = httpx.get(f"{url}/v2/models/{name}").json()
    assert meta["name"] == name and meta["inputs"]


def test_onnx_probabilities_match_scikit_learn(replicas: dict[str, Replica], built: Built) -> None:
    url = replicas["iris-onnx"].url
    r = httpx.post(f"{url}/v2/models/iris-onnx/infer",
                   json=infer_body(ROWS, ["probabilities"]))
    out = r.json()["outputs"][0]
    probs = np.asarray(out["data"]).reshape(out["shape"])
    expected = built.model.predict_proba(np.asarray(ROWS))  # type: ignore[attr-defined]
    assert np.allclose(probs, expected, atol=1e-4)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["iris", "custom"])
async def test_concurrent_requests_each_get_their_own_rows(
    replicas: dict[str, Replica], name: str
) -> None:
    """Requests merged into one batch are split back by row counts, in order."""
    url = replicas[name].url
    rng = np.random.default_rng(7)
    batches = [rng.uniform(0, 7, size=(int(n), 4)).round(2).tolist()
               for n in rng.integers(1, 5, size=40)]
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(
            client.post(f"{url}/v2/models/{name}/infer", json=infer_body(b)) for b in batches
        ))
        singles = [await client.post(f"{url}/v2/models/{name}/infer", json=infer_body(b))
                   for b in batches[:5]]
    for rows, answer in zip(batches, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["shape"][0] == len(rows)
    for merged, single in zip(answers[:5], singles, strict=True):
        assert merged.json()["outputs"] == single.json()["outputs"]
    if name == "custom":
        got = answers[0].json()["outputs"][0]["data"]
        assert np.allclose(got, np.asarray(batches[0]).sum(axis=1) * 3)


@pytest.mark.asyncio
async def test_a_bad_request_does_not_fail_its_batch_neighbours(
    replicas: dict[str, Replica],
) -> None:
    url = replicas["iris"].url + "/v2/models/iris/infer"
    bad = {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(
            client.post(url, json=bad if i % 5 == 0 else infer_body(ROWS)) for i in range(30)
        ))
    for i, a in enumerate(answers):
        assert a.status_code == (422 if i % 5 == 0 else 200), a.text
    assert answers[0].json()["error"]["code"] == "invalid_input"


def test_metrics_expose_batching_histograms(replicas: dict[str, Replica]) -> None:
    url = replicas["iris"].url
    httpx.post(f"{url}/v2/models/iris/infer", json=infer_body(ROWS))
    text = httpx.get(f"{url}/metrics").text
    for name in ("modelyard_replica_batch_size", "modelyard_replica_queue_seconds",
                 "modelyard_replica_compute_seconds"):
        assert f'{name}_count{{model="iris"}}' in text


def test_unknown_model_and_route_are_404(replicas: dict[str, Replica]) -> None:
    url = replicas["iris"].url
    r = httpx.post(f"{url}/v2/models/nope/infer", json=infer_body(ROWS))
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert httpx.get(f"{url}/nowhere").status_code == 404
