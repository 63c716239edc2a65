"""Pure RBAC: ``can(principal, action, team, environment)`` → Allowed | Denied(reason).

Roles: admin (everything), team-admin (everything in their team: models, deployments
including production, users, keys, the team's audit events), developer (read, register,
deploy to dev and staging), viewer (read), invoker (no control-plane rights; the gateway
lets it call its named deployments). Production changes need team-admin or above.
The control plane also needs the key's ``management`` scope (``whoami`` excepted).
Objects of other teams are invisible: callers must treat a denial on visibility as
"not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from modelyard.domain.deployments import Environment
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import Principal, Role, Scope


class Action(StrEnum):
    """What a caller wants to do."""

    ANY = "any"
    READ = "read"
    WRITE_MODEL = "write_model"
    DEPLOY = "deploy"
    MANAGE_TEAM = "manage_team"
    READ_AUDIT = "read_audit"
    ADMIN = "admin"


@dataclass(frozen=True)
class Allowed:
    """The action is allowed."""


@dataclass(frozen=True)
class Denied:
    """The action is denied, with the reason."""

    reason: str


_TEAM_WORK = frozenset({Action.ANY, Action.READ, Action.WRITE_MODEL, Action.DEPLOY})
ROLE_ACTIONS = {
    Role.ADMIN: frozenset(Action),
    Role.TEAM_ADMIN: _TEAM_WORK | {Action.MANAGE_TEAM, Action.READ_AUDIT},
    Role.DEVELOPER: _TEAM_WORK,
    Role.VIEWER: frozenset({Action.ANY, Action.READ}),
    Role.INVOKER: frozenset({Action.ANY}),
}


def is_visible(principal: Principal, team: str) -> bool:
    """True when objects of ``team`` are visible to the caller."""
    return principal.role == Role.ADMIN or principal.team == team


def can(principal: Principal, action: Action, team: str | None = None,
        environment: Environment | None = None) -> Allowed | Denied:
    """Decide whether ``principal`` may do ``action`` on an object of ``team``."""
    if action != Action.ANY and Scope.MANAGEMENT not in principal.scopes:
        return Denied("the API key has no management scope")
    if action not in ROLE_ACTIONS[principal.role]:
        return Denied(f"role {principal.role} may not {action}")
    if team is not None and not is_visible(principal, team):
        return Denied("object belongs to another team")
    if (action == Action.DEPLOY and environment == Environment.PRODUCTION
            and principal.role not in {Role.ADMIN, Role.TEAM_ADMIN}):
        return Denied("production changes need team-admin or above")
    return Allowed()


def require(principal: Principal, action: Action, team: str | None = None,
            environment: Environment | None = None) -> None:
    """Raise ``forbidden`` unless allowed."""
    match can(principal, action, team, environment):
        case Denied(reason=reason):
            raise ModelyardError(ErrorCode.FORBIDDEN, reason)
        case _:
            return
