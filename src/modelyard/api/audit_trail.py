"""The REST API's side of the audit log: who, from where, under which request id.

``Audit`` (a dependency) records a handler's change in the handler's own transaction.
``record_refusal`` records every 401 and 403 in a transaction of its own (the refused
request's transaction, if any, rolls back). An admin acting on another team's object is
an *override*, marked ``details.override = "true"``. Nothing secret is recorded: actors
are key names or public key prefixes.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from modelyard.api.deps import Caller, ControlPlane, get_cp
from modelyard.api.policy import rule_of
from modelyard.domain.audit import AuditDraft, Outcome, digest_of
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import Principal, Role
from modelyard.store.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(request: Request) -> str:
    """The caller's ``X-Request-Id`` when well-formed, else a fresh one (kept per request)."""
    known: str | None = getattr(request.state, "request_id", None)
    if known is None:
        given = request.headers.get("x-request-id", "")
        known = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.state.request_id = known
    return known


def source_of(request: Request) -> str:
    """The caller's address."""
    return request.client.host[:64] if request.client else ""


def _action(request: Request) -> str:
    rule = rule_of(request)
    return rule.name if rule else f"{request.method} {request.url.path}"[:64]


@dataclass
class AuditContext:
    """Everything an audit event needs from the request."""

    cp: ControlPlane
    who: Principal
    action: str
    request_id: str
    source: str

    async def record(self, uow: UnitOfWork, target: str, team: str, *,
                     before: Mapping[str, Any] | None = None,
                     after: Mapping[str, Any] | None = None,
                     details: Mapping[str, str] | None = None) -> None:
        """Append the change to ``target`` (of ``team``) in ``uow``'s transaction."""
        extra = dict(details or {})
        extra["key_id"] = self.who.key_id
        if self.who.role == Role.ADMIN and team != self.who.team:
            extra["override"] = "true"
        await uow.audit.append(AuditDraft(
            time=self.cp.clock.now(), actor=self.who.name, team=team, action=self.action,
            target=target[:255], before_digest=digest_of(before), after_digest=digest_of(after),
            request_id=self.request_id, source=self.source, details=extra))


async def get_audit(request: Request, who: Caller) -> AuditContext:
    """The audit context of an authenticated request."""
    return AuditContext(get_cp(request), who, _action(request), request_id(request),
                        source_of(request))


Audit = Annotated[AuditContext, Depends(get_audit)]


async def record_refusal(request: Request, err: ModelyardError) -> None:
    """Append a 401 (``failed``) or 403 (``denied``) to the log; never raises."""
    cp: ControlPlane | None = getattr(request.app.state, "cp", None)
    if cp is None or err.code not in (ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN):
        return
    who: Principal | None = getattr(request.state, "principal", None)
    if who is not None:
        actor, team, details = who.name, who.team, {"key_id": who.key_id, "reason": err.message}
    else:
        actor = getattr(request.state, "auth_actor", "anonymous")
        team = getattr(request.state, "auth_team", "")
        details = {"reason": getattr(request.state, "auth_reason", "unauthenticated")}
    outcome = Outcome.DENIED if err.code == ErrorCode.FORBIDDEN else Outcome.FAILED
    draft = AuditDraft(time=cp.clock.now(), actor=actor[:128], team=team, action=_action(request),
                       target=request.url.path[:255], outcome=outcome,
                       request_id=request_id(request), source=source_of(request),
                       details=details)
    try:
        async with cp.store.uow() as uow:
            await uow.audit.append(draft)
    except Exception:
        logger.exception("could not record a refused request in the audit log")
