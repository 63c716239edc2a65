"""Pure: a model name in a request → the deployment that serves it, for this caller.

A deployment of another team is reported exactly like a missing one, so its name leaks
nothing. A visible deployment the key may not call (no inference scope, a read-only
role, or not among an invoker key's named deployments) is ``forbidden``.
"""

from __future__ import annotations

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import RouteEntry, RouteTable
from modelyard.domain.tenancy import Principal, Role, Scope, may_invoke


def can_see(principal: Principal, route: RouteEntry) -> bool:
    """True when the caller may use the deployment."""
    return principal.role == Role.ADMIN or principal.team == route.team


def resolve(name: str, principal: Principal, table: RouteTable) -> RouteEntry:
    """Return the route of deployment ``name`` or raise ``model_not_found``."""
    route = table.routes.get(name)
    if route is None or not can_see(principal, route):
        raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model named {name[:100]!r}")
    reason = may_invoke(principal, route.deployment)
    if reason is not None:
        raise ModelyardError(ErrorCode.FORBIDDEN, reason)
    return route


def visible_routes(principal: Principal, table: RouteTable) -> list[RouteEntry]:
    """Every deployment the caller may use, by name (``forbidden`` without inference scope)."""
    if Scope.INFERENCE not in principal.scopes:
        raise ModelyardError(ErrorCode.FORBIDDEN, "the API key has no inference scope")
    return sorted((r for r in table.routes.values()
                   if can_see(principal, r) and may_invoke(principal, r.deployment) is None),
                  key=lambda r: r.deployment)
