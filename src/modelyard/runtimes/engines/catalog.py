"""The engine adapters by name: how to build each command and read each engine's metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from modelyard.runtimes.engines import llamacpp, tgi, trtllm, vllm
from modelyard.runtimes.engines.spec import Engine, EngineCommand, EngineSpec


@dataclass(frozen=True)
class Adapter:
    """One engine: its executable, command builder and metric-name map."""

    engine: Engine
    executable: str
    python_module: str | None  # importable module that proves a pip install, if any
    build_command: Callable[[EngineSpec], EngineCommand]
    metrics: Mapping[str, str]


ADAPTERS: Mapping[Engine, Adapter] = MappingProxyType({
    Engine.VLLM: Adapter(Engine.VLLM, vllm.EXECUTABLE, "vllm", vllm.build_command, vllm.METRICS),
    Engine.TGI: Adapter(Engine.TGI, tgi.EXECUTABLE, None, tgi.build_command, tgi.METRICS),
    Engine.LLAMACPP: Adapter(Engine.LLAMACPP, llamacpp.EXECUTABLE, None, llamacpp.build_command,
                             llamacpp.METRICS),
    Engine.TRTLLM: Adapter(Engine.TRTLLM, trtllm.EXECUTABLE, "tensorrt_llm", trtllm.build_command,
                           trtllm.METRICS),
})


def build_command(engine: Engine, spec: EngineSpec) -> EngineCommand:
    """The command that starts ``engine`` for ``spec``."""
    return ADAPTERS[engine].build_command(spec)
