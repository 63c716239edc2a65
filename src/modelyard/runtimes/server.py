"""The replica process: one model behind an ASGI app.

Routes: ``/health`` and ``/v2/health/live`` (alive), ``/ready`` and ``/v2/health/ready``
(model loaded), ``/metrics`` (Prometheus), OIP v2 and KServe v1 for tensor runtimes
(``tensor_api``), and the OpenAI routes (``openai_api``): ``/v1/models`` always,
``/v1/embeddings`` for embedding runtimes, ``/v1/completions`` and
``/v1/chat/completions`` for generation runtimes.

The artifact's digest is verified before the model is loaded; a mismatch ends the process
with exit code ``EXIT_ARTIFACT_CORRUPT`` and a one-line reason on stderr, which the
backend reports and the controller surfaces. Any other load failure exits with
``EXIT_LOAD_FAILED``. Every request goes through one dynamic ``Batcher`` (see
``batching``), sized by ``--max-batch-size`` / ``--max-batch-delay-ms`` or the runtime's
defaults; generation jobs always run one at a time.

The process is started by a backend with a listening socket already bound (``--fd``) so
that no port can be taken between choosing and binding it. It serves on the data plane's
lean HTTP server (``gateway.http_server``: one write per answer, no per-header work) and
routes through ``DirectRoutes`` (no framework layers per request); together they took the
event loop's time per request at c=64 from 0.40 to 0.31 ms, time the model threads
otherwise spend waiting for answers to go out and requests to come back.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.gateway.http_server import serve
from modelyard.observability import metrics_replica as metrics
from modelyard.observability.logging import configure_logging
from modelyard.registry.digests import verify_path
from modelyard.runtimes import jobs
from modelyard.runtimes.batching import DEFAULT_MAX_QUEUE, Batcher, BatchSettings
from modelyard.runtimes.catalog import AnyRuntime, create_runtime
from modelyard.runtimes.compiled import stop_recompiling
from modelyard.runtimes.direct_routes import DirectRoutes
from modelyard.runtimes.http import error_response, json_response
from modelyard.runtimes.openai_api import Embedder, Generator, OpenAIApi
from modelyard.runtimes.protocol import (
    Capability,
    CompilableRuntime,
    EmbeddingRuntime,
    GenerationRuntime,
    TensorRuntime,
)
from modelyard.runtimes.request_log import RequestIdFilter, RequestLog
from modelyard.runtimes.row_batching import rows_of, tensor_forward
from modelyard.runtimes.tensor_api import ModelIdentity, TensorApi

logger = logging.getLogger(__name__)

EXIT_ARTIFACT_CORRUPT = 78
EXIT_LOAD_FAILED = 77
GRACE_S = 10.0  # requests in flight may finish this long after SIGTERM


@dataclass(frozen=True)
class ReplicaConfig:
    """What one replica serves and how."""

    model_name: str
    model_version: str
    artifact: Path
    digest: str
    framework: str
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch_size: int | None = None  # None: the runtime's default
    max_batch_delay_ms: float | None = None
    max_queue: int = DEFAULT_MAX_QUEUE
    instances: int | None = None  # None: the runtime's default
    compile: bool = False  # compile every instance's forward graph after the threads are shared


async def _alive(request: Request) -> Response:
    return json_response({"status": "alive"})


async def _metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(ModelyardError(ErrorCode.ROUTE_NOT_FOUND))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(ModelyardError(ErrorCode.METHOD_NOT_ALLOWED))


def batch_settings(config: ReplicaConfig, runtime: AnyRuntime) -> BatchSettings:
    """The batcher's settings: flags over the runtime's defaults; generation is never merged."""
    if runtime.capability is Capability.GENERATION:
        return BatchSettings(1, 0.0, config.max_queue)
    return BatchSettings.from_flags(runtime.batch_defaults, config.max_batch_size,
                                    config.max_batch_delay_ms, config.max_queue)


def instance_count(config: ReplicaConfig, runtime: AnyRuntime) -> int:
    """Model instances this replica loads: the flag, else the runtime's default; generation 1."""
    if runtime.capability is Capability.GENERATION:
        return 1
    wanted = config.instances if config.instances is not None else runtime.batch_defaults.instances
    return max(1, wanted)


def _wire(config: ReplicaConfig, runtime: AnyRuntime, settings: BatchSettings,
          more: Sequence[AnyRuntime] = ()) -> tuple[Sequence[BaseRoute], Batcher[Any, Any]]:
    name = config.model_name
    model = ModelIdentity(name, config.model_version, config.framework, config.max_body_bytes)
    if isinstance(runtime, GenerationRuntime) and runtime.capability is Capability.GENERATION:
        gen = Batcher(jobs.generation_forward(runtime), settings, model=name)
        return OpenAIApi(name, generator=Generator(runtime, gen)).routes(), gen
    if isinstance(runtime, EmbeddingRuntime) and runtime.capability is Capability.EMBEDDING:
        emb = Batcher([jobs.embedding_forward(r) for r in (runtime, *more)  # type: ignore[arg-type]
                       ], settings, model=name, rows_of=jobs.texts_of)
        return OpenAIApi(name, embedder=Embedder(runtime, emb)).routes(), emb
    if isinstance(runtime, TensorRuntime):
        tensor = Batcher([tensor_forward(r) for r in (runtime, *more)  # type: ignore[arg-type]
                          ], settings, model=name, rows_of=rows_of)
        routes = [*TensorApi(model, runtime, tensor).routes(), *OpenAIApi(name).routes()]
        return routes, tensor
    raise ModelyardError(ErrorCode.UNSUPPORTED_FRAMEWORK, f"{runtime!r} speaks no known protocol")


def build_app(config: ReplicaConfig, runtime: AnyRuntime,
              more: Sequence[AnyRuntime] = ()) -> DirectRoutes:
    """Build the replica's ASGI app around a loaded ``runtime`` (and its extra instances)."""
    settings = batch_settings(config, runtime)
    protocol_routes, batcher = _wire(config, runtime, settings, more)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with batcher:
            yield

    routes: list[BaseRoute] = [
        Route("/health", _alive),
        Route("/v2/health/live", _alive),
        Route("/ready", _alive),
        Route("/v2/health/ready", _alive),
        Route("/metrics", _metrics),
        *protocol_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: _not_found, 405: _not_allowed})
    return DirectRoutes(app, routes)


def load_runtime(config: ReplicaConfig) -> AnyRuntime:
    """Verify the artifact, then load and return its runtime."""
    verify_path(config.artifact, config.digest)
    return _loaded(config)


def _loaded(config: ReplicaConfig) -> AnyRuntime:
    runtime = create_runtime(config.framework)
    runtime.load(config.artifact)
    return runtime


def load_instances(config: ReplicaConfig, first: AnyRuntime) -> list[AnyRuntime]:
    """The extra model instances ``instance_count`` asks for, each loaded on its own.

    With several instances on a CPU, torch's threads are shared out among them (one pass
    per instance, each on its share of the cores).
    """
    count = instance_count(config, first)
    more = [_loaded(config) for _ in range(count - 1)]
    if count > 1 and "torch" in sys.modules:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // count))
    return more


def compile_instances(config: ReplicaConfig, runtimes: Sequence[AnyRuntime]) -> bool:
    """Compile every instance when ``--compile`` asks and the runtime can; say whether all did.

    Runs after ``load_instances`` has shared the threads out (kernels are built for that
    count); afterwards no graph is compiled again (``compiled.stop_recompiling``).
    """
    done = False
    compilable = [r for r in runtimes if isinstance(r, CompilableRuntime)]
    if config.compile and len(compilable) == len(runtimes):
        done = all([r.compile() for r in compilable])  # a list: every instance compiles
        stop_recompiling()
    elif config.compile:
        logger.warning("this runtime does not compile; serving eagerly",
                       extra={"framework": config.framework})
    metrics.COMPILED.labels(model=config.model_name).set(1 if done else 0)
    return done


def parse_args(argv: list[str]) -> tuple[ReplicaConfig, int | None, int]:
    """The replica's command line → its config, the inherited socket fd and the port."""
    p = argparse.ArgumentParser(prog="modelyard-replica")
    p.add_argument("--model-name", required=True)
    p.add_argument("--model-version", default="1")
    p.add_argument("--artifact", required=True, type=Path)
    p.add_argument("--digest", required=True)
    p.add_argument("--framework", required=True)
    p.add_argument("--fd", type=int, default=None)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024)
    p.add_argument("--max-batch-size", type=int, default=None,
                   help="rows merged per forward pass; 0 or 1 disables batching")
    p.add_argument("--max-batch-delay-ms", type=float, default=None,
                   help="how long a batch may wait for more requests under load")
    p.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE,
                   help="requests waiting beyond this are refused with 429")
    p.add_argument("--compile", action="store_true",
                   help="compile the forward graph at load (runtimes that can)")
    p.add_argument("--instances", type=int, default=None,
                   help="model instances whose forward passes overlap (default: the runtime's)")
    p.add_argument("--token", default="")
    a = p.parse_args(argv)
    cfg = ReplicaConfig(a.model_name, a.model_version, a.artifact, a.digest, a.framework,
                        a.max_body_bytes, a.max_batch_size, a.max_batch_delay_ms, a.max_queue,
                        a.instances, a.compile)
    return cfg, a.fd, a.port


def main(argv: list[str] | None = None) -> None:
    """Entry point of a replica process."""
    configure_logging("INFO", json_lines=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
    config, fd, port = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        runtime = load_runtime(config)
        more = load_instances(config, runtime)
        compile_instances(config, [runtime, *more])
        app = build_app(config, runtime, more)
    except ModelyardError as err:
        print(f"modelyard-replica: {err.code}: {err.message}", file=sys.stderr, flush=True)
        corrupt = err.code == ErrorCode.ARTIFACT_CORRUPT
        sys.exit(EXIT_ARTIFACT_CORRUPT if corrupt else EXIT_LOAD_FAILED)
    except Exception as exc:  # a broken artifact must end the process with a reason, not hang
        print(f"modelyard-replica: load_failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        sys.exit(EXIT_LOAD_FAILED)
    logger.info("model loaded", extra={"model": config.model_name})
    # The data plane's lean HTTP server (one write per answer, no per-header regexes); the
    # gateway is the replica's only client, so no X-Forwarded-* layer either.
    sock = socket.socket(fileno=fd) if fd is not None else socket.create_server(("127.0.0.1", port))
    serve(RequestLog(app), sock, grace_s=GRACE_S)


if __name__ == "__main__":
    main()
