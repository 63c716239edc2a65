"""Causal language models with Hugging Face transformers (CPU, or a GPU when present).

The artifact is a folder saved with ``save_pretrained``: ``config.json`` with a causal LM
architecture, the weights and a tokenizer with a chat template. Decoding is a manual
loop over the model's forward with its KV cache, so that each token is seen as it is
made: streaming, stop strings (``StopScanner``), cancellation between tokens and exact
token counts need no callbacks into ``generate``. Sampling follows OpenAI's meaning of
``temperature`` (0 = greedy), ``top_p`` and ``seed``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.protocol import (
    BatchDefaults,
    Capability,
    ChatMessage,
    GenerationDone,
    SamplingParams,
    TokenDelta,
)
from modelyard.runtimes.stops import StopScanner

GREEDY_BELOW = 1e-5


def _sample(logits: Any, params: SamplingParams, generator: Any) -> int:
    """Choose the next token id from the last position's logits."""
    import torch

    if params.temperature < GREEDY_BELOW:
        return int(torch.argmax(logits).item())
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        sorted_probs[(cumulative - sorted_probs) > params.top_p] = 0.0
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator).item())


class TransformersRuntime:
    """Serves a causal LM folder as a generation runtime."""

    capability = Capability.GENERATION
    batch_defaults = BatchDefaults(max_batch_size=1, max_batch_delay_ms=0.0)

    def __init__(self) -> None:
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self._cache_arg = "past_key_values"
        self._eos: frozenset[int] = frozenset()
        self._window = 2048

    def load(self, path: Path) -> None:
        """Load model and tokenizer offline."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not (path / "config.json").is_file():
            raise ModelyardError(ErrorCode.UNSUPPORTED_FRAMEWORK, "no config.json in the folder")
        self._device = "cuda" if torch.cuda.is_available() else "cpu"
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        kwargs: dict[str, Any] = {"local_files_only": True}
        if self._device == "cuda":
            kwargs["dtype"] = "auto"
        auto: Any = AutoModelForCausalLM  # its stubs type from_pretrained oddly
        model = auto.from_pretrained(str(path), **kwargs)
        self._model = model.to(self._device).eval()
        params = inspect.signature(self._model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._eos = self._eos_ids()
        config = self._model.config
        self._window = int(getattr(config, "max_position_embeddings", 0) or
                           getattr(self._tokenizer, "model_max_length", 2048))

    def _eos_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        for source in (self._model.generation_config, self._model.config, self._tokenizer):
            value = getattr(source, "eos_token_id", None)
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list):
                ids.update(v for v in value if isinstance(v, int))
        return frozenset(ids)

    def context_window(self) -> int:
        """Most tokens (prompt + completion) the model takes."""
        return self._window

    def render_chat(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Apply the tokenizer's chat template (with the generation prompt)."""
        if not getattr(self._tokenizer, "chat_template", None):
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 "the model's tokenizer has no chat template; use /v1/completions")
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        text = self._tokenizer.apply_chat_template(
            conversation, add_generation_prompt=True, tokenize=False
        )
        return self.tokenize(str(text), special=False)

    def tokenize(self, prompt: str, special: bool = True) -> list[int]:
        """Token ids of ``prompt`` (with the tokenizer's BOS when it adds one)."""
        return list(self._tokenizer(prompt, add_special_tokens=special)["input_ids"])

    def _step(self, ids: Any, cache: Any) -> tuple[Any, Any]:
        out = self._model(input_ids=ids, use_cache=True, **{self._cache_arg: cache})
        new_cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return out.logits[0, -1], new_cache

    def _new_text(self, generated: list[int], shown: str) -> str | None:
        """Text added by the last token, or None while it is not yet stable."""
        text = str(self._tokenizer.decode(generated, skip_special_tokens=True))
        if text.endswith("\ufffd") or not text.startswith(shown):
            return None  # an incomplete character, or a re-tokenized prefix: wait
        return text[len(shown):]

    def _decode(
        self, prompt_ids: Sequence[int], params: SamplingParams, cancelled: Callable[[], bool]
    ) -> Iterator[int]:
        """Yield sampled token ids (EOS included) until EOS, the limit or cancellation."""
        import torch

        generator = None
        if params.seed is not None:
            generator = torch.Generator(device=self._device).manual_seed(params.seed)
        ids = torch.tensor([list(prompt_ids)], device=self._device)
        cache = None
        with torch.inference_mode():
            for _ in range(min(params.max_tokens, self._window - len(prompt_ids))):
                if cancelled():
                    return
                logits, cache = self._step(ids, cache)
                token = _sample(logits, params, generator)
                yield token
                if token in self._eos:
                    return
                ids = torch.tensor([[token]], device=self._device)

    def generate(
        self, prompt_ids: Sequence[int], params: SamplingParams, cancelled: Callable[[], bool]
    ) -> Iterator[TokenDelta | GenerationDone]:
        """Decode token by token; see ``GenerationRuntime.generate``."""
        if len(prompt_ids) >= self._window:
            raise ModelyardError(ErrorCode.INVALID_REQUEST, "the prompt fills the context window")
        scanner = StopScanner(params.stop)
        generated: list[int] = []
        shown = ""
        finish = "length"
        for token in self._decode(prompt_ids, params, cancelled):
            if token in self._eos:
                generated.append(token)
                finish = "stop"
                break
            generated.append(token)
            piece = self._new_text(generated, shown)
            if piece is None:
                continue
            shown += piece
            out = scanner.push(piece)
            if out:
                yield TokenDelta(out, len(generated))
            if scanner.stopped:
                finish = "stop"
                break
        if cancelled():
            finish = "stop"
        rest = "" if scanner.stopped else scanner.flush()
        if rest:
            yield TokenDelta(rest, len(generated))
        yield GenerationDone(finish, len(prompt_ids), len(generated))
