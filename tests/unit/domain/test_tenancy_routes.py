"""Keys are hashed and parsed; route tables survive their JSON form."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

from modelyard.domain.routes import Endpoint, KeyEntry, RouteEntry, RouteTable
from modelyard.domain.tenancy import Role, generate_key, hash_key, matches, prefix_of


def test_generated_key_roundtrip() -> None:
    plaintext, prefix, key_hash = generate_key()
    assert plaintext.startswith(f"my_{prefix}_")
    assert prefix_of(plaintext) == prefix
    assert key_hash == hash_key(plaintext) and key_hash not in plaintext
    assert matches(plaintext, key_hash)
    assert not matches(plaintext + "x", key_hash)


def test_malformed_keys_have_no_prefix() -> None:
    for bad in ["", "my_", "my_abc_x", "xx_12345678_secret", "my_12345678_"]:
        assert prefix_of(bad) is None


def test_route_table_json_roundtrip() -> None:
    table = RouteTable(
        7,
        MappingProxyType({"iris": RouteEntry("iris", "t", "staging", "iris", "sklearn",
                                             (Endpoint("iris-1", "http://127.0.0.1:1", 1),))}),
        MappingProxyType({"abcd1234": KeyEntry("k", "abcd1234", "h", "n", "t", Role.VIEWER,
                                               datetime(2030, 1, 1, tzinfo=UTC))}),
    )
    back = RouteTable.from_json(table.to_json())
    assert back.version == 7
    assert back.same_content(table)
