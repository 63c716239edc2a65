"""Engine metrics re-exported under modelyard names."""

from __future__ import annotations

from modelyard.runtimes.engines import llamacpp, tgi, vllm
from modelyard.runtimes.engines.metrics import render, translate

VLLM_TEXT = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="llama"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="llama"} 5.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{model_name="llama"} 0.42
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="llama"} 2.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="llama"} 4.0
vllm:time_to_first_token_seconds_count{model_name="llama"} 4.0
vllm:time_to_first_token_seconds_sum{model_name="llama"} 0.9
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{model_name="llama"} 100.0
"""


def test_vllm_metrics_are_renamed_and_labelled() -> None:
    samples = {(s.name, s.labels): s.value
               for s in translate(VLLM_TEXT, vllm.METRICS, {"replica": "r1"})}
    r1 = (("replica", "r1"),)
    assert samples[("modelyard_engine_requests_running", r1)] == 3.0
    assert samples[("modelyard_engine_requests_waiting", r1)] == 5.0
    assert samples[("modelyard_engine_kv_cache_usage_ratio", r1)] == 0.42
    assert samples[("modelyard_engine_time_to_first_token_seconds_count", r1)] == 4.0
    assert samples[("modelyard_engine_time_to_first_token_seconds_bucket",
                    (("le", "+Inf"), ("replica", "r1")))] == 4.0
    assert not any("prompt_tokens" in name for name, _ in samples)


def test_older_vllm_names_map_to_the_same_signals() -> None:
    text = ('# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc 0.5\n'
            '# TYPE vllm:time_per_output_token_seconds histogram\n'
            'vllm:time_per_output_token_seconds_count 7.0\n'
            'vllm:time_per_output_token_seconds_sum 0.7\n')
    names = {s.name for s in translate(text, vllm.METRICS)}
    assert names == {"modelyard_engine_kv_cache_usage_ratio",
                     "modelyard_engine_time_per_output_token_seconds_count",
                     "modelyard_engine_time_per_output_token_seconds_sum"}


def test_tgi_and_llamacpp_gauges() -> None:
    tgi_text = "# TYPE tgi_queue_size gauge\ntgi_queue_size 2\n"
    assert [(s.name, s.value) for s in translate(tgi_text, tgi.METRICS)] == [
        ("modelyard_engine_requests_waiting", 2.0)]
    cpp = ("# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 1\n"
           "# TYPE llamacpp:requests_deferred gauge\nllamacpp:requests_deferred 0\n")
    assert {s.name for s in translate(cpp, llamacpp.METRICS)} == {
        "modelyard_engine_requests_running", "modelyard_engine_requests_waiting"}


def test_render_round_trips_through_the_parser() -> None:
    samples = translate(VLLM_TEXT, vllm.METRICS, {"replica": 'a"b'})
    again = translate(render(samples).replace("modelyard_engine_requests_running",
                                              "vllm:num_requests_running"), vllm.METRICS)
    assert any(s.name == "modelyard_engine_requests_running" and s.value == 3.0 for s in again)
    assert render([]) == ""
