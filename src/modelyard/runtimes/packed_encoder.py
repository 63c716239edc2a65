"""Padding-free embeddings for BERT-style sentence-transformers models (``packing``).

Texts are tokenized once, packed into rows (``packing.pack``) and run through the
transformer with a block-diagonal attention mask and per-text positions; mean (or CLS)
pooling and the optional normalization are applied per text. It serves only pipelines it
reproduces exactly — ``Transformer`` (a ``bert`` model) → ``Pooling`` (mean or CLS) →
optional ``Normalize`` — and, at load, checks itself against ``encode`` on texts of
different lengths; anything else, or a mismatch, keeps ``encode``.

``compile`` swaps the transformer's forward for a compiled graph (``compiled``), warmed up
on one-row and several-row batches and checked against the eager vectors; a failure or a
mismatch keeps the eager forward.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from modelyard.runtimes.compiled import compile_module
from modelyard.runtimes.packing import pack
from modelyard.runtimes.protocol import Array

logger = logging.getLogger(__name__)

MIN_ROW_TOKENS = 64  # a row holds at least this many tokens (or the longest text)
_PROBE = ("a", "the replica packs short texts together",
          "one sentence that is a good deal longer than the others, so that rows differ in "
          "length and the mask and the positions matter", "GPUs", "models serve requests")
_TOLERANCE = 1e-4
_WARM_UP_TEXTS = (1, 2, 5, 40, 64)  # one row, then several rows of different widths


class PackedEncoder:
    """Embeds a batch of texts with packed rows instead of padded ones."""

    def __init__(self, model: Any, *, cls_pooling: bool, normalize: bool) -> None:
        self.model = model
        self.transformer = model[0].auto_model
        self.tokenizer = model.tokenizer
        self.max_length = int(model.max_seq_length)
        self.cls_pooling = cls_pooling
        self.normalize = normalize
        self.forward: Any = self.transformer  # the compiled graph after ``compile``

    @classmethod
    def for_model(cls, model: Any) -> PackedEncoder | None:
        """A packed encoder for ``model`` when its pipeline allows and it matches ``encode``."""
        modules = [type(m).__name__ for m in model]
        if modules not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        if getattr(model[0].auto_model.config, "model_type", "") != "bert":
            return None
        mode = _pooling_mode(model[1])
        if mode not in ("mean", "cls"):
            return None
        encoder = cls(model, cls_pooling=mode == "cls", normalize=len(modules) == 3)
        try:
            expected = np.asarray(model.encode(list(_PROBE), convert_to_numpy=True,
                                               show_progress_bar=False))
            got = encoder.embed(list(_PROBE))
        except Exception as exc:  # a model that takes no 4D mask or positions: keep encode
            logger.info("packed embeddings unavailable", extra={"error": type(exc).__name__})
            return None
        if got.shape != expected.shape or float(np.abs(got - expected).max()) > _TOLERANCE:
            logger.info("packed embeddings differ from encode; not used")
            return None
        return encoder

    def compile(self) -> bool:
        """Run batches through a compiled graph when it gives the eager vectors; say whether."""
        probe = list(_PROBE)
        expected = self.embed(probe)

        def warm_up(compiled: Any) -> None:
            self.forward = compiled
            for n in _WARM_UP_TEXTS:
                self.embed([_PROBE[k % len(_PROBE)] for k in range(n)])

        compiled = compile_module(self.transformer, warm_up)
        if compiled is None:
            self.forward = self.transformer
            return False
        self.forward = compiled
        if float(np.abs(np.asarray(self.embed(probe)) - np.asarray(expected)).max()) > _TOLERANCE:
            logger.warning("the compiled graph differs from the eager model; serving eagerly")
            self.forward = self.transformer
            return False
        return True

    def embed(self, texts: Sequence[str]) -> Array:
        """One float32 vector per text."""
        return self.embed_counted(texts)[0]

    def embed_counted(self, texts: Sequence[str]) -> tuple[Array, list[int]]:
        """One float32 vector per text, and the tokens each text took (after truncation)."""
        import torch

        with torch.inference_mode():  # inputs made here too: a compiled graph sees one mode
            return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> tuple[Array, list[int]]:
        import torch

        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        lengths = [len(x) for x in ids]
        rows = pack(lengths, max(MIN_ROW_TOKENS, max(lengths)))
        width = max(sum(lengths[i] for i in row) for row in rows)
        device = self.transformer.device
        input_ids = torch.zeros((len(rows), width), dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        segment = torch.full((len(rows), width), -1, dtype=torch.long)  # text index, -1 = pad
        starts = [0] * len(texts)
        for r, row in enumerate(rows):
            at = 0
            for i in row:
                n = lengths[i]
                input_ids[r, at:at + n] = torch.tensor(ids[i])
                positions[r, at:at + n] = torch.arange(n)
                segment[r, at:at + n] = i
                starts[i] = r * width + at
                at += n
        same = segment[:, :, None] == segment[:, None, :]  # pads see only pads: no empty rows
        dtype = self.transformer.dtype
        mask = torch.zeros(same.shape, dtype=dtype).masked_fill_(~same, torch.finfo(dtype).min)
        hidden = self.forward(
            input_ids=input_ids.to(device), attention_mask=mask[:, None].to(device),
            token_type_ids=torch.zeros_like(input_ids).to(device),
            position_ids=positions.to(device)).last_hidden_state
        flat = hidden.reshape(-1, hidden.shape[-1]).float()
        if self.cls_pooling:
            pooled = flat[torch.tensor(starts, device=flat.device)]
        else:
            seg = segment.reshape(-1).to(flat.device)
            keep = seg >= 0
            pooled = torch.zeros((len(texts), flat.shape[-1]), device=flat.device)
            pooled.index_add_(0, seg[keep], flat[keep])
            pooled /= torch.tensor(lengths, device=flat.device, dtype=flat.dtype)[:, None]
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return np.asarray(pooled.cpu().numpy(), dtype=np.float32), lengths


def _pooling_mode(pooling: Any) -> str:
    """``mean``, ``cls`` or something else, from the ``Pooling`` module of any version."""
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 5+: one string
    if isinstance(mode, str):
        return mode if getattr(pooling, "include_prompt", True) else "other"
    flags = {name: bool(getattr(pooling, f"pooling_mode_{name}", False))
             for name in ("mean_tokens", "cls_token", "max_tokens", "mean_sqrt_len_tokens",
                          "weightedmean_tokens", "lasttoken")}
    chosen = [name for name, on in flags.items() if on]
    return {"mean_tokens": "mean", "cls_token": "cls"}.get(chosen[0], "other") \
        if len(chosen) == 1 else "other"
