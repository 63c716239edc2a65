"""Stable error codes and the ModelyardError family.

Every error that crosses a boundary carries an ``ErrorCode``: a snake_case string that
never changes on the wire. The table ``ERROR_STATUS`` maps each code to its HTTP status
and default message; renderers (REST envelope, OIP v2, OpenAI) read it and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ErrorCode(StrEnum):
    """Stable machine-readable error codes."""

    INVALID_REQUEST = "invalid_request"
    INVALID_JSON = "invalid_json"
    INVALID_INPUT = "invalid_input"
    INVALID_NAME = "invalid_name"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    HEADERS_TOO_LARGE = "headers_too_large"
    RATE_LIMITED = "rate_limited"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    ROUTE_NOT_FOUND = "route_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    MODEL_NOT_FOUND = "model_not_found"
    VERSION_NOT_FOUND = "version_not_found"
    ALIAS_NOT_FOUND = "alias_not_found"
    DEPLOYMENT_NOT_FOUND = "deployment_not_found"
    REPLICA_NOT_FOUND = "replica_not_found"
    UPLOAD_NOT_FOUND = "upload_not_found"
    TEAM_NOT_FOUND = "team_not_found"
    USER_NOT_FOUND = "user_not_found"
    KEY_NOT_FOUND = "key_not_found"
    ALREADY_EXISTS = "already_exists"
    VERSION_IN_USE = "version_in_use"
    CONFLICT = "conflict"
    INVALID_TRANSITION = "invalid_transition"
    ARTIFACT_CORRUPT = "artifact_corrupt"
    UNSUPPORTED_FRAMEWORK = "unsupported_framework"
    NO_READY_REPLICA = "no_ready_replica"
    QUEUE_FULL = "queue_full"
    OVERLOADED = "overloaded"
    UPSTREAM_ERROR = "upstream_error"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    UNSCHEDULABLE = "unschedulable"
    QUOTA_EXCEEDED = "quota_exceeded"
    REVISION_NOT_FOUND = "revision_not_found"
    ROLLOUT_NOT_FOUND = "rollout_not_found"
    ROLLOUT_IN_PROGRESS = "rollout_in_progress"
    PROMOTION_BLOCKED = "promotion_blocked"
    BUDGET_EXCEEDED = "budget_exceeded"
    INTERNAL = "internal"


ERROR_STATUS: Mapping[ErrorCode, tuple[int, str]] = MappingProxyType(
    {
        ErrorCode.INVALID_REQUEST: (400, "The request is not valid."),
        ErrorCode.INVALID_JSON: (400, "The request body is not valid JSON."),
        ErrorCode.INVALID_INPUT: (422, "The input does not match what the model expects."),
        ErrorCode.INVALID_NAME: (422, "The name is not valid."),
        ErrorCode.PAYLOAD_TOO_LARGE: (413, "The request body is larger than the limit."),
        ErrorCode.HEADERS_TOO_LARGE: (431, "Too many request headers, or too large."),
        ErrorCode.RATE_LIMITED: (429, "The rate limit of the key or team is reached; retry later."),
        ErrorCode.UNAUTHENTICATED: (401, "A valid API key is required."),
        ErrorCode.FORBIDDEN: (403, "The API key may not do this."),
        ErrorCode.NOT_FOUND: (404, "Not found."),
        ErrorCode.ROUTE_NOT_FOUND: (404, "No such endpoint."),
        ErrorCode.METHOD_NOT_ALLOWED: (405, "Method not allowed on this endpoint."),
        ErrorCode.MODEL_NOT_FOUND: (404, "No such model."),
        ErrorCode.VERSION_NOT_FOUND: (404, "No such model version."),
        ErrorCode.ALIAS_NOT_FOUND: (404, "No such alias."),
        ErrorCode.DEPLOYMENT_NOT_FOUND: (404, "No such deployment."),
        ErrorCode.REPLICA_NOT_FOUND: (404, "No such replica."),
        ErrorCode.UPLOAD_NOT_FOUND: (404, "No such upload."),
        ErrorCode.TEAM_NOT_FOUND: (404, "No such team."),
        ErrorCode.USER_NOT_FOUND: (404, "No such user in the team."),
        ErrorCode.KEY_NOT_FOUND: (404, "No such API key."),
        ErrorCode.ALREADY_EXISTS: (409, "It already exists."),
        ErrorCode.VERSION_IN_USE: (409, "The model version is used by a deployment."),
        ErrorCode.CONFLICT: (409, "The object changed meanwhile; retry."),
        ErrorCode.INVALID_TRANSITION: (409, "The object cannot make this transition."),
        ErrorCode.ARTIFACT_CORRUPT: (422, "The artifact does not match its digest."),
        ErrorCode.UNSUPPORTED_FRAMEWORK: (422, "No runtime serves this framework."),
        ErrorCode.NO_READY_REPLICA: (503, "No replica is ready to serve this model."),
        ErrorCode.QUEUE_FULL: (429, "The model's queue is full; retry later."),
        ErrorCode.OVERLOADED: (429, "The deployment is overloaded; retry later."),
        ErrorCode.UPSTREAM_ERROR: (502, "The replica failed to answer."),
        ErrorCode.UPSTREAM_TIMEOUT: (504, "The replica did not answer in time."),
        ErrorCode.ENGINE_UNAVAILABLE: (422, "The engine is not installed on the node."),
        ErrorCode.UNSCHEDULABLE: (422, "No node can take this replica."),
        ErrorCode.QUOTA_EXCEEDED: (403, "The team's quota is exhausted."),
        ErrorCode.REVISION_NOT_FOUND: (404, "No such revision, or none of its replicas is ready."),
        ErrorCode.ROLLOUT_NOT_FOUND: (404, "The deployment has no rollout."),
        ErrorCode.ROLLOUT_IN_PROGRESS: (409, "A rollout is in progress; promote or abort it first."),
        ErrorCode.PROMOTION_BLOCKED: (409, "The revision has not passed its validation."),
        ErrorCode.BUDGET_EXCEEDED: (402, "The team's budget for this period is spent."),
        ErrorCode.INTERNAL: (500, "Internal error."),
    }
)


def status_of(code: ErrorCode) -> int:
    """Return the HTTP status that ``code`` maps to."""
    return ERROR_STATUS[code][0]


class ModelyardError(Exception):
    """Base of every error modelyard raises on purpose.

    Attributes:
        code: the stable error code.
        message: readable text for the caller; never contains a secret.
        details: extra structured, non-secret facts.
        retry_after_s: when set, the caller may retry after this many seconds.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        details: Mapping[str, object] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.code = code
        self.message = message or ERROR_STATUS[code][1]
        self.details: Mapping[str, object] = dict(details or {})
        self.retry_after_s = retry_after_s
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        """The HTTP status of this error."""
        return status_of(self.code)


class InvalidTransition(ModelyardError):
    """A state machine was asked for a transition its table does not allow."""

    def __init__(self, kind: str, state: str, event: str) -> None:
        super().__init__(
            ErrorCode.INVALID_TRANSITION,
            f"{kind} in state {state!r} cannot take event {event!r}",
            details={"kind": kind, "state": state, "event": event},
        )


class TransientError(ModelyardError):
    """A failure worth retrying later (controllers requeue the key)."""


class PermanentError(ModelyardError):
    """A failure that retrying will not fix."""


def error_body(err: ModelyardError) -> dict[str, dict[str, object]]:
    """Return the REST error envelope ``{"error": {"code", "message"[, "details"]}}``."""
    inner: dict[str, object] = {"code": str(err.code), "message": err.message}
    if err.details:
        inner["details"] = dict(err.details)
    return {"error": inner}


def error_headers(err: ModelyardError) -> dict[str, str]:
    """Return the headers an error response carries (Retry-After when set)."""
    if err.retry_after_s is None:
        return {}
    return {"Retry-After": str(max(1, round(err.retry_after_s)))}
