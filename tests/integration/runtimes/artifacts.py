"""Small real artifacts built locally for runtime tests (no network, seconds to build)."""

from __future__ import annotations

import textwrap
from pathlib import Path

WORDS = (
    "the", "a", "cat", "dog", "sat", "on", "mat", "hello", "world", "is", "blue", "red",
    "green", "sky", "you", "are", "helpful", "what", "color", "tell", "me", "about", "one",
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
)
SPECIAL = ["<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_iris_sklearn(folder: Path) -> tuple[Path, object]:
    """A logistic regression on iris, saved with joblib; returns (file, model)."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    file = folder / "iris.joblib"
    joblib.dump(model, file)
    return file, model


def build_iris_onnx(folder: Path, model: object) -> Path:
    """The same model converted with skl2onnx (probabilities as a plain tensor)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, 4]))],
                          options={id(model): {"zipmap": False}}, target_opset=17)
    file = folder / "iris.onnx"
    file.write_bytes(onx.SerializeToString())
    return file


def build_tiny_llama(folder: Path) -> Path:
    """A 2-layer Llama with random weights and a word-level tokenizer with a chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate([*SPECIAL, *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def build_custom(folder: Path) -> Path:
    """A user model following the ``model.py`` convention."""
    (folder / "scale.txt").write_text("3\n")
    (folder / "model.py").write_text(textwrap.dedent('''
        import numpy as np

        class Model:
            def load(self, path):
                self.scale = float((path / "scale.txt").read_text())

            def predict(self, batch):
                return {"predict": batch.sum(axis=1) * self.scale, "rows": batch * 1.0}
    '''))
    return folder
