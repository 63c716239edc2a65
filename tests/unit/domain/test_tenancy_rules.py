"""Who may grant which role, key ceilings, invocation rules, scoped route-table keys."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import KeyEntry, RouteEntry, RouteTable
from modelyard.domain.tenancy import (
    ALL_SCOPES,
    ApiKey,
    Principal,
    Role,
    Scope,
    can_grant,
    format_scopes,
    is_within,
    key_state,
    may_invoke,
    parse_scopes,
)
from modelyard.gateway.resolve import resolve, visible_routes

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GRANTS = {
    Role.ADMIN: set(Role),
    Role.TEAM_ADMIN: {Role.TEAM_ADMIN, Role.DEVELOPER, Role.VIEWER, Role.INVOKER},
}


@pytest.mark.parametrize(("granter", "role"), list(itertools.product(Role, Role)))
def test_grant_matrix(granter: Role, role: Role) -> None:
    assert can_grant(granter, role) == (role in GRANTS.get(granter, set()))


@pytest.mark.parametrize(("role", "ceiling", "ok"), [
    (Role.DEVELOPER, Role.DEVELOPER, True), (Role.VIEWER, Role.DEVELOPER, True),
    (Role.TEAM_ADMIN, Role.DEVELOPER, False), (Role.INVOKER, Role.DEVELOPER, True),
    (Role.INVOKER, Role.VIEWER, False), (Role.ADMIN, Role.ADMIN, True),
    (Role.VIEWER, Role.INVOKER, False),
])
def test_key_never_outranks_its_user(role: Role, ceiling: Role, ok: bool) -> None:
    assert is_within(role, ceiling) == ok


def test_key_states() -> None:
    key = ApiKey("i", "abcd1234", "h", "n", "t", Role.VIEWER, T0, expires_at=T0)
    assert key_state(key, T0) == "expired"
    assert key_state(key.__class__(**{**key.__dict__, "expires_at": None}), T0) == "active"
    assert key_state(ApiKey("i", "p", "h", "n", "t", Role.VIEWER, T0, revoked_at=T0), T0) == "revoked"
    assert parse_scopes(format_scopes(ALL_SCOPES)) == ALL_SCOPES
    assert parse_scopes("") == frozenset()


def who(role: Role, scopes: frozenset[Scope] = ALL_SCOPES, deps: tuple[str, ...] = (),
        team: str = "a") -> Principal:
    return Principal("k", "n", team, role, scopes, deps)


@pytest.mark.parametrize(("principal", "allowed"), [
    (who(Role.DEVELOPER), True), (who(Role.VIEWER), False), (who(Role.INVOKER, deps=("iris",)), True),
    (who(Role.INVOKER, deps=("other",)), False), (who(Role.ADMIN, frozenset({Scope.MANAGEMENT})), False),
    (who(Role.TEAM_ADMIN, frozenset({Scope.INFERENCE}), ("iris",)), True),
])
def test_may_invoke(principal: Principal, allowed: bool) -> None:
    assert (may_invoke(principal, "iris") is None) == allowed


TABLE = RouteTable(
    1,
    MappingProxyType({n: RouteEntry(n, team, "dev", n, "sklearn", ())
                      for n, team in [("iris", "a"), ("wine", "a"), ("secret", "b")]}),
    MappingProxyType({"abcd1234": KeyEntry("k", "abcd1234", "h", "n", "a", Role.INVOKER,
                                           datetime(2030, 1, 1, tzinfo=UTC),
                                           frozenset({Scope.INFERENCE}), ("iris",))}),
)


def test_gateway_resolution_by_scope_role_and_team() -> None:
    invoker = who(Role.INVOKER, frozenset({Scope.INFERENCE}), ("iris",))
    assert resolve("iris", invoker, TABLE).deployment == "iris"
    with pytest.raises(ModelyardError) as info:
        resolve("wine", invoker, TABLE)
    assert info.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(ModelyardError) as info:
        resolve("secret", who(Role.DEVELOPER), TABLE)
    assert info.value.code == ErrorCode.MODEL_NOT_FOUND  # another team's looks missing
    assert [r.deployment for r in visible_routes(invoker, TABLE)] == ["iris"]
    assert [r.deployment for r in visible_routes(who(Role.DEVELOPER), TABLE)] == ["iris", "wine"]
    with pytest.raises(ModelyardError) as info:
        visible_routes(who(Role.ADMIN, frozenset({Scope.MANAGEMENT})), TABLE)
    assert info.value.code == ErrorCode.FORBIDDEN


def test_scoped_keys_survive_the_route_table_json() -> None:
    back = RouteTable.from_json(TABLE.to_json())
    assert back.same_content(TABLE)
    entry = back.keys["abcd1234"]
    assert entry.principal() == Principal("k", "n", "a", Role.INVOKER, frozenset({Scope.INFERENCE}),
                                          ("iris",))
