"""The OpenAI error envelope."""

from __future__ import annotations

import orjson
import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.openai_errors import error_body, render_error


@pytest.mark.parametrize(("code", "status", "kind"), [
    (ErrorCode.INVALID_REQUEST, 400, "invalid_request_error"),
    (ErrorCode.UNAUTHENTICATED, 401, "authentication_error"),
    (ErrorCode.MODEL_NOT_FOUND, 404, "not_found_error"),
    (ErrorCode.QUEUE_FULL, 429, "rate_limit_error"),
    (ErrorCode.INTERNAL, 500, "server_error"),
])
def test_type_follows_the_status(code: ErrorCode, status: int, kind: str) -> None:
    response = render_error(ModelyardError(code))
    assert response.status_code == status
    assert orjson.loads(response.body)["error"]["type"] == kind


def test_envelope_fields_and_retry_after() -> None:
    err = ModelyardError(ErrorCode.QUEUE_FULL, "busy", details={"param": "model"},
                         retry_after_s=2.4)
    assert error_body(err) == {"error": {"message": "busy", "type": "rate_limit_error",
                                         "code": "queue_full", "param": "model"}}
    assert render_error(err).headers["retry-after"] == "2"
