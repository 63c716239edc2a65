"""The replica process: one model behind an ASGI app.

Routes: ``/health`` (alive), ``/ready`` and ``/v2/health/ready`` (model loaded), OIP v2
(``/v2/models/{name}``, ``/v2/models/{name}/ready``, ``/v2/models/{name}/infer``) and
KServe v1 (``/v1/models/{name}:predict``). The artifact's digest is verified before the
model is loaded; a mismatch ends the process with exit code ``EXIT_ARTIFACT_CORRUPT`` and
a one-line reason on stderr, which the backend reports and the controller surfaces.

The process is started by a backend with a listening socket already bound (``--fd``) so
that no port can be taken between choosing and binding it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.registry.digests import verify_path
from modelyard.runtimes import oip_v2
from modelyard.runtimes.catalog import create_runtime
from modelyard.runtimes.protocol import TensorRuntime

logger = logging.getLogger(__name__)

EXIT_ARTIFACT_CORRUPT = 78
EXIT_LOAD_FAILED = 77
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class ReplicaConfig:
    """What one replica serves and how."""

    model_name: str
    model_version: str
    artifact: Path
    digest: str
    framework: str
    max_body_bytes: int = 16 * 1024 * 1024


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialize ``body`` with orjson (numpy-aware)."""
    data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(data, status_code=status, headers=headers, media_type="application/json")


def error_response(err: ModelyardError) -> Response:
    """Render the REST error envelope for ``err``."""
    headers = {}
    if err.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(err.retry_after_s)))
    return json_response(
        {"error": {"code": str(err.code), "message": err.message}}, err.status, headers
    )


async def read_json(request: Request, limit: int) -> object:
    """Read the body (bounded by ``limit`` bytes) and parse it as JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise ModelyardError(ErrorCode.INVALID_JSON, f"body is not valid JSON: {exc}") from None


class ModelServer:
    """Holds the loaded runtime and answers the protocol routes."""

    def __init__(self, config: ReplicaConfig, runtime: TensorRuntime) -> None:
        self.config = config
        self.runtime = runtime

    def _check_name(self, request: Request) -> None:
        name = request.path_params["name"]
        if name != self.config.model_name:
            raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"this replica serves no model {name!r}")

    async def metadata(self, request: Request) -> Response:
        """OIP v2 model metadata."""
        self._check_name(request)
        sig = self.runtime.signature()

        def specs(items: tuple[Any, ...]) -> list[dict[str, Any]]:
            return [{"name": s.name, "datatype": s.datatype, "shape": list(s.shape)} for s in items]

        return json_response({
            "name": self.config.model_name,
            "versions": [self.config.model_version],
            "platform": self.config.framework,
            "inputs": specs(sig.inputs),
            "outputs": specs(sig.outputs),
        })

    async def model_ready(self, request: Request) -> Response:
        """OIP v2 per-model readiness."""
        self._check_name(request)
        return json_response({"name": self.config.model_name, "ready": True})

    async def infer(self, request: Request) -> Response:
        """OIP v2 inference."""
        self._check_name(request)
        body = await read_json(request, self.config.max_body_bytes)
        request_id, rows, outputs = oip_v2.decode_infer(body)
        result = self.runtime.predict(rows, outputs)
        return json_response(oip_v2.encode_outputs(
            self.config.model_name, self.config.model_version, request_id, result
        ))

    async def predict_v1(self, request: Request) -> Response:
        """KServe v1 ``:predict``."""
        self._check_name(request)
        body = await read_json(request, self.config.max_body_bytes)
        rows = oip_v2.decode_instances(body)
        result = self.runtime.predict(rows, ["predict"])
        return json_response(oip_v2.encode_predictions(result, ["predict"]))


def guarded(handler: Handler) -> Handler:
    """Turn ModelyardError into its envelope and anything else into a logged 500."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ModelyardError as err:
            return error_response(err)
        except Exception:
            logger.exception("inference failed")
            return error_response(ModelyardError(ErrorCode.INTERNAL, "the model failed"))

    return run


async def _alive(request: Request) -> Response:
    return json_response({"status": "alive"})


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(ModelyardError(ErrorCode.ROUTE_NOT_FOUND))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(ModelyardError(ErrorCode.METHOD_NOT_ALLOWED))


def build_app(server: ModelServer) -> Starlette:
    """Build the replica's ASGI app around a loaded ``server``."""
    routes = [
        Route("/health", _alive),
        Route("/v2/health/live", _alive),
        Route("/ready", _alive),
        Route("/v2/health/ready", _alive),
        Route("/v2/models/{name}", guarded(server.metadata)),
        Route("/v2/models/{name}/ready", guarded(server.model_ready)),
        Route("/v2/models/{name}/infer", guarded(server.infer), methods=["POST"]),
        Route("/v1/models/{name}:predict", guarded(server.predict_v1), methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed})


def load_server(config: ReplicaConfig) -> ModelServer:
    """Verify the artifact, load the runtime and return a ready server."""
    verify_path(config.artifact, config.digest)
    runtime = create_runtime(config.framework)
    runtime.load(config.artifact)
    return ModelServer(config, runtime)


def _parse_args(argv: list[str]) -> tuple[ReplicaConfig, int | None, int]:
    p = argparse.ArgumentParser(prog="modelyard-replica")
    p.add_argument("--model-name", required=True)
    p.add_argument("--model-version", default="1")
    p.add_argument("--artifact", required=True, type=Path)
    p.add_argument("--digest", required=True)
    p.add_argument("--framework", required=True)
    p.add_argument("--fd", type=int, default=None)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024)
    p.add_argument("--token", default="")
    a = p.parse_args(argv)
    cfg = ReplicaConfig(a.model_name, a.model_version, a.artifact, a.digest, a.framework,
                        a.max_body_bytes)
    return cfg, a.fd, a.port


def main(argv: list[str] | None = None) -> None:
    """Entry point of a replica process."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config, fd, port = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        server = load_server(config)
    except ModelyardError as err:
        print(f"modelyard-replica: {err.code}: {err.message}", file=sys.stderr, flush=True)
        sys.exit(EXIT_ARTIFACT_CORRUPT if err.code == ErrorCode.ARTIFACT_CORRUPT else EXIT_LOAD_FAILED)
    except Exception as exc:  # a broken artifact must end the process with a reason, not hang
        print(f"modelyard-replica: load_failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        sys.exit(EXIT_LOAD_FAILED)
    logger.info("model loaded", extra={"model": config.model_name})
    kwargs: dict[str, Any] = {"fd": fd} if fd is not None else {"host": "127.0.0.1", "port": port}
    uvicorn.run(build_app(server), log_level="warning", access_log=False,
                timeout_graceful_shutdown=10, **kwargs)


if __name__ == "__main__":
    main()
