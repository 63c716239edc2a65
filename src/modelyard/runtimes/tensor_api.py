"""OIP v2 and KServe v1 routes of a replica serving a tensor runtime.

Each request is decoded (``oip_v2``), submitted to the replica's ``Batcher`` and its own
slice of the batch's outputs is encoded back. Errors render in the REST envelope
(``http.error_response``); a full queue is a 429 with Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes import oip_v2
from modelyard.runtimes.batching import Batcher
from modelyard.runtimes.http import (
    STATUS_CLIENT_GONE,
    ClientGone,
    Handler,
    error_response,
    json_response,
    read_json,
    until_disconnect,
)
from modelyard.runtimes.protocol import Array, TensorRuntime
from modelyard.runtimes.row_batching import Outputs, TensorRequest


@dataclass(frozen=True)
class ModelIdentity:
    """What a replica serves, as the protocols name it."""

    name: str
    version: str
    framework: str
    max_body_bytes: int = 16 * 1024 * 1024


def guarded(handler: Handler) -> Handler:
    """Turn ModelyardError into the REST envelope; a vanished client into a 499."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ModelyardError as err:
            return error_response(err)
        except ClientGone:
            return Response(status_code=STATUS_CLIENT_GONE)

    return run


class TensorApi:
    """Answers OIP v2 and KServe v1 for one tensor runtime through its batcher."""

    def __init__(
        self, model: ModelIdentity, runtime: TensorRuntime,
        batcher: Batcher[TensorRequest, Outputs],
    ) -> None:
        self.model = model
        self.runtime = runtime
        self.batcher = batcher

    def _check_name(self, request: Request) -> None:
        name = request.path_params["name"]
        if name != self.model.name:
            raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"this replica serves no {name!r}")

    async def _predict(self, request: Request, rows: Array, outputs: list[str]) -> Outputs:
        work = self.batcher.enqueue(TensorRequest(rows, tuple(outputs)))
        return await until_disconnect(request, work)

    async def metadata(self, request: Request) -> Response:
        """OIP v2 model metadata."""
        self._check_name(request)
        sig = self.runtime.signature()

        def specs(items: tuple[Any, ...]) -> list[dict[str, Any]]:
            return [{"name": s.name, "datatype": s.datatype, "shape": list(s.shape)} for s in items]

        return json_response({
            "name": self.model.name,
            "versions": [self.model.version],
            "platform": self.model.framework,
            "inputs": specs(sig.inputs),
            "outputs": specs(sig.outputs),
        })

    async def model_ready(self, request: Request) -> Response:
        """OIP v2 per-model readiness."""
        self._check_name(request)
        return json_response({"name": self.model.name, "ready": True})

    async def infer(self, request: Request) -> Response:
        """OIP v2 inference."""
        self._check_name(request)
        body = await read_json(request, self.model.max_body_bytes)
        request_id, rows, outputs = oip_v2.decode_infer(body)
        result = await self._predict(request, rows, outputs)
        return json_response(oip_v2.encode_outputs(
            self.model.name, self.model.version, request_id, result
        ))

    async def predict_v1(self, request: Request) -> Response:
        """KServe v1 ``:predict``."""
        self._check_name(request)
        body = await read_json(request, self.model.max_body_bytes)
        rows = oip_v2.decode_instances(body)
        result = await self._predict(request, rows, ["predict"])
        return json_response(oip_v2.encode_predictions(result, ["predict"]))

    def routes(self) -> list[Route]:
        """The protocol routes."""
        return [
            Route("/v2/models/{name}", guarded(self.metadata)),
            Route("/v2/models/{name}/ready", guarded(self.model_ready)),
            Route("/v2/models/{name}/infer", guarded(self.infer), methods=["POST"]),
            Route("/v1/models/{name}:predict", guarded(self.predict_v1), methods=["POST"]),
        ]
