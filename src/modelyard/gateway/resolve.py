"""Pure: a model name in a request → the deployment that serves it, for this caller.

A deployment of another team is reported exactly like a missing one, so its name leaks
nothing.
"""

from __future__ import annotations

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import RouteEntry, RouteTable
from modelyard.domain.tenancy import Principal, Role


def can_see(principal: Principal, route: RouteEntry) -> bool:
    """True when the caller may use the deployment."""
    return principal.role == Role.ADMIN or principal.team == route.team


def resolve(name: str, principal: Principal, table: RouteTable) -> RouteEntry:
    """Return the route of deployment ``name`` or raise ``model_not_found``."""
    route = table.routes.get(name)
    if route is None or not can_see(principal, route):
        raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model named {name[:100]!r}")
    return route


def visible_routes(principal: Principal, table: RouteTable) -> list[RouteEntry]:
    """Every deployment the caller may use, by name."""
    return sorted((r for r in table.routes.values() if can_see(principal, r)),
                  key=lambda r: r.deployment)
