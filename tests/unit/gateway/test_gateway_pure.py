"""Gateway decisions: authentication, resolution and balancing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import Endpoint, KeyEntry, RouteEntry, RouteTable
from modelyard.domain.tenancy import Principal, Role, generate_key
from modelyard.gateway.auth import authenticate, bearer_token
from modelyard.gateway.balancer import choose_endpoint
from modelyard.gateway.resolve import resolve, visible_routes

NOW = datetime(2026, 1, 1, tzinfo=UTC)
EPS = tuple(Endpoint(f"r{i}", f"http://127.0.0.1:{i}", 1) for i in range(3))


def table_with_key(role: Role = Role.DEVELOPER, team: str = "a",
                   expires: datetime | None = None) -> tuple[RouteTable, str]:
    plaintext, prefix, key_hash = generate_key()
    key = KeyEntry("k1", prefix, key_hash, "app", team, role, expires)
    routes = {"m": RouteEntry("m", "a", "dev", "m", "sklearn", EPS),
              "other": RouteEntry("other", "b", "dev", "o", "sklearn", EPS)}
    return RouteTable(1, MappingProxyType(routes), MappingProxyType({prefix: key})), plaintext


@pytest.mark.parametrize(("header", "token"), [
    (None, None), ("", None), ("Basic abc", None), ("Bearer ", None), ("Bearer x", "x"),
    ("bearer  y ", "y"),
])
def test_bearer(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_authenticate_ok_and_failures() -> None:
    table, key = table_with_key()
    assert authenticate(f"Bearer {key}", table, NOW) == Principal("k1", "app", "a", Role.DEVELOPER)
    for header in [None, "Bearer nope", f"Bearer {key}x", f"Bearer {key[:-1]}"]:
        with pytest.raises(ModelyardError) as info:
            authenticate(header, table, NOW)
        assert info.value.code == ErrorCode.UNAUTHENTICATED
    expired, key2 = table_with_key(expires=NOW - timedelta(seconds=1))
    with pytest.raises(ModelyardError, match="expired"):
        authenticate(f"Bearer {key2}", expired, NOW)


def test_other_team_is_invisible() -> None:
    table, _ = table_with_key()
    dev = Principal("k", "n", "a", Role.DEVELOPER)
    assert resolve("m", dev, table).deployment == "m"
    with pytest.raises(ModelyardError) as info:
        resolve("other", dev, table)
    assert info.value.code == ErrorCode.MODEL_NOT_FOUND
    assert [r.deployment for r in visible_routes(dev, table)] == ["m"]
    admin = Principal("k", "n", "z", Role.ADMIN)
    assert [r.deployment for r in visible_routes(admin, table)] == ["m", "other"]


def test_least_outstanding_and_exclusion() -> None:
    assert choose_endpoint(EPS, {"r0": 2, "r1": 0, "r2": 1}, (), 0) == EPS[1]
    assert choose_endpoint(EPS, {"r0": 2, "r1": 0, "r2": 1}, {"r1"}, 0) == EPS[2]
    assert choose_endpoint(EPS, {}, {"r0", "r1", "r2"}, 0) is None
    assert choose_endpoint((), {}, (), 0) is None


def test_ties_rotate() -> None:
    picks = Counter(choose_endpoint(EPS, {}, (), turn).replica_id  # type: ignore[union-attr]
                    for turn in range(300))
    assert picks == {"r0": 100, "r1": 100, "r2": 100}
