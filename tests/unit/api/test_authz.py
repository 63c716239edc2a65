"""RBAC decisions as a matrix of roles × actions × environments × scopes."""

from __future__ import annotations

import itertools

import pytest

from modelyard.api.authz import Action, Allowed, Denied, can
from modelyard.domain.deployments import Environment
from modelyard.domain.tenancy import Principal, Role, Scope

TEAM = {Action.ANY, Action.READ, Action.WRITE_MODEL, Action.DEPLOY}
EXPECTED: dict[Role, set[Action]] = {
    Role.ADMIN: set(Action),
    Role.TEAM_ADMIN: TEAM | {Action.MANAGE_TEAM, Action.READ_AUDIT},
    Role.DEVELOPER: TEAM,
    Role.VIEWER: {Action.ANY, Action.READ},
    Role.INVOKER: {Action.ANY},
}


@pytest.mark.parametrize(("role", "action"), list(itertools.product(Role, Action)))
def test_role_matrix_own_team(role: Role, action: Action) -> None:
    result = can(Principal("k", "n", "a", role), action, "a", Environment.STAGING)
    assert isinstance(result, Allowed) == (action in EXPECTED[role])


@pytest.mark.parametrize("role", list(Role))
def test_other_team_denied_unless_admin(role: Role) -> None:
    result = can(Principal("k", "n", "a", role), Action.ANY, "b")
    assert isinstance(result, Allowed) == (role == Role.ADMIN)


@pytest.mark.parametrize(("role", "allowed"), [(Role.ADMIN, True), (Role.TEAM_ADMIN, True),
                                               (Role.DEVELOPER, False)])
def test_production_needs_team_admin(role: Role, allowed: bool) -> None:
    result = can(Principal("k", "n", "a", role), Action.DEPLOY, "a", Environment.PRODUCTION)
    assert isinstance(result, Allowed) == allowed
    if not allowed:
        assert isinstance(result, Denied) and "production" in result.reason


@pytest.mark.parametrize("action", [a for a in Action if a != Action.ANY])
def test_management_scope_is_required(action: Action) -> None:
    who = Principal("k", "n", "a", Role.ADMIN, frozenset({Scope.INFERENCE}))
    result = can(who, action, "a")
    assert isinstance(result, Denied) and "management scope" in result.reason
    assert isinstance(can(who, Action.ANY), Allowed)
