"""The route policy: every REST route's required action and audit name, in one table.

``authorize`` runs before every handler (the app adds it to every router). A route with
no rule is refused, so a new endpoint stays closed until it is added here; a test checks
that every route of the app has a rule. Handlers add the object-level checks the table
cannot know (team visibility, production).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from fastapi import Request

from modelyard.api.authz import Action, require
from modelyard.api.deps import Caller
from modelyard.domain.errors import ErrorCode, ModelyardError

logger = logging.getLogger(__name__)
PREFIX = "/api/v1"


@dataclass(frozen=True)
class Rule:
    """What a route needs, and the name its audit events carry."""

    action: Action
    name: str


R = Rule
RULES: Mapping[tuple[str, str], Rule] = MappingProxyType({
    ("POST", "/uploads"): R(Action.WRITE_MODEL, "upload.create"),
    ("POST", "/models/{name}/versions"): R(Action.WRITE_MODEL, "model.version.create"),
    ("GET", "/models"): R(Action.READ, "model.list"),
    ("GET", "/models/{name}"): R(Action.READ, "model.get"),
    ("GET", "/models/{name}/versions/{version}"): R(Action.READ, "model.version.get"),
    ("DELETE", "/models/{name}/versions/{version}"): R(Action.WRITE_MODEL, "model.version.delete"),
    ("DELETE", "/models/{name}"): R(Action.WRITE_MODEL, "model.delete"),
    ("PUT", "/models/{name}/aliases/{alias}"): R(Action.WRITE_MODEL, "model.alias.set"),
    ("DELETE", "/models/{name}/aliases/{alias}"): R(Action.WRITE_MODEL, "model.alias.delete"),
    ("POST", "/deployments"): R(Action.DEPLOY, "deployment.create"),
    ("GET", "/deployments"): R(Action.READ, "deployment.list"),
    ("GET", "/deployments/{name}"): R(Action.READ, "deployment.get"),
    ("POST", "/deployments/{name}/scale"): R(Action.DEPLOY, "deployment.scale"),
    ("DELETE", "/deployments/{name}"): R(Action.DEPLOY, "deployment.delete"),
    ("GET", "/deployments/{name}/replicas"): R(Action.READ, "replica.list"),
    ("GET", "/replicas/{replica_id}/logs"): R(Action.READ, "replica.logs"),
    ("POST", "/deployments/{name}/revisions"): R(Action.DEPLOY, "deployment.update"),
    ("GET", "/deployments/{name}/revisions"): R(Action.READ, "revision.list"),
    ("GET", "/deployments/{name}/history"): R(Action.READ, "deployment.history"),
    ("POST", "/deployments/{name}/rollback"): R(Action.DEPLOY, "deployment.rollback"),
    ("POST", "/deployments/{name}/revisions/{number}/validations"):
        R(Action.DEPLOY, "revision.validation.create"),
    ("GET", "/deployments/{name}/revisions/{number}/validations"):
        R(Action.READ, "revision.validation.list"),
    ("POST", "/deployments/{name}/promotions"): R(Action.DEPLOY, "deployment.promote"),
    ("GET", "/deployments/{name}/rollouts"): R(Action.READ, "rollout.list"),
    ("GET", "/deployments/{name}/rollout"): R(Action.READ, "rollout.get"),
    ("POST", "/deployments/{name}/rollout/{action}"): R(Action.DEPLOY, "rollout.act"),
    ("GET", "/deployments/{name}/stats"): R(Action.READ, "revision.stats"),
    ("POST", "/external-deployments"): R(Action.DEPLOY, "external_deployment.create"),
    ("GET", "/external-deployments"): R(Action.READ, "external_deployment.list"),
    ("DELETE", "/external-deployments/{name}"): R(Action.DEPLOY, "external_deployment.delete"),
    # telemetry from separate gateways: admin keys only, not an audited change
    ("POST", "/gateway-stats"): R(Action.ADMIN, "gateway.stats.report"),
    ("POST", "/usage"): R(Action.ADMIN, "usage.report"),
    ("GET", "/usage"): R(Action.READ, "usage.list"),
    ("GET", "/costs"): R(Action.READ, "cost.list"),
    ("PUT", "/budgets/{team}"): R(Action.ADMIN, "budget.set"),
    ("GET", "/budgets"): R(Action.READ, "budget.list"),
    ("DELETE", "/budgets/{team}"): R(Action.ADMIN, "budget.delete"),
    ("POST", "/drift/samples"): R(Action.ADMIN, "drift.samples.report"),
    ("PUT", "/models/{name}/versions/{version}/reference"):
        R(Action.WRITE_MODEL, "model.reference.set"),
    ("GET", "/deployments/{name}/drift"): R(Action.READ, "drift.get"),
    ("GET", "/routes"): R(Action.ADMIN, "routes.watch"),
    ("GET", "/whoami"): R(Action.ANY, "whoami"),
    ("POST", "/teams"): R(Action.ADMIN, "team.create"),
    ("GET", "/teams"): R(Action.READ, "team.list"),
    ("POST", "/users"): R(Action.MANAGE_TEAM, "user.create"),
    ("GET", "/users"): R(Action.READ, "user.list"),
    ("POST", "/keys"): R(Action.MANAGE_TEAM, "key.create"),
    ("GET", "/keys"): R(Action.MANAGE_TEAM, "key.list"),
    ("DELETE", "/keys/{key_id}"): R(Action.MANAGE_TEAM, "key.revoke"),
    ("GET", "/audit"): R(Action.READ_AUDIT, "audit.list"),
    ("GET", "/nodes"): R(Action.READ, "node.list"),
    ("GET", "/nodes/{name}"): R(Action.READ, "node.get"),
    ("POST", "/nodes"): R(Action.ADMIN, "node.declare"),
    ("POST", "/nodes/{name}/cordon"): R(Action.ADMIN, "node.cordon"),
    ("POST", "/nodes/{name}/uncordon"): R(Action.ADMIN, "node.uncordon"),
    ("POST", "/nodes/{name}/drain"): R(Action.ADMIN, "node.drain"),
    ("DELETE", "/nodes/{name}"): R(Action.ADMIN, "node.delete"),
    ("GET", "/quotas"): R(Action.READ, "quota.list"),
    ("PUT", "/quotas/{team}/{gpu_model}"): R(Action.ADMIN, "quota.set"),
    ("DELETE", "/quotas/{team}/{gpu_model}"): R(Action.ADMIN, "quota.delete"),
    ("GET", "/audit/verify"): R(Action.ADMIN, "audit.verify"),
})


def rule_of(request: Request) -> Rule | None:
    """The rule of the route this request matched, or None.

    The matched route's path is its template within the router (``/models/{name}``);
    with an older FastAPI it carries the ``/api/v1`` prefix, which is dropped.
    """
    path = str(getattr(request.scope.get("route"), "path", ""))
    if path.startswith(PREFIX):
        path = path[len(PREFIX):]
    return RULES.get((request.method, path))


async def authorize(request: Request, who: Caller) -> None:
    """Refuse the request unless the caller's role and scopes allow the route's action."""
    rule = rule_of(request)
    if rule is None:
        logger.error("route has no policy rule; refused", extra={"path": request.url.path})
        raise ModelyardError(ErrorCode.FORBIDDEN, "this endpoint has no access rule")
    require(who, rule.action)
