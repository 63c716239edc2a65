"""The audit log, teams, users and scoped keys on real SQLite and real PostgreSQL.

Tampering is done the way an intruder would: straight SQL on the database file or server,
outside modelyard.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelyard.domain.audit import AuditDraft, ChainBroken, ChainOk, verify_chain
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import ApiKey, Role, Scope, Team, User
from modelyard.store.repositories.audit import AuditFilter
from modelyard.store.schema import sync_url
from modelyard.store.unit_of_work import Store
from tests.support.databases import database_url

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)




def draft(i: int, actor: str = "alice", action: str = "deployment.scale") -> AuditDraft:
    return AuditDraft(T0 + timedelta(seconds=i), actor, "t", action, f"deployment/d{i}",
                      request_id=f"r{i}", source="127.0.0.1", details={"n": str(i)})


async def verify(store: Store) -> ChainOk | ChainBroken:
    async with store.uow() as uow:
        head = await uow.audit.head()
        events = [e async for e in uow.audit.walk(head[0])]
    return verify_chain(events, head)


def tamper(store: Store, sql: str) -> None:
    """Change the database behind modelyard's back (sqlite3 / psycopg directly)."""
    url = sync_url(store.url)
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            conn.execute(sql)
    else:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(sql))
        engine.dispose()


async def test_append_list_and_verify(store: Store) -> None:
    async with store.uow() as uow:
        for i in range(1, 6):
            e = await uow.audit.append(draft(i, actor="bob" if i % 2 else "alice"))
            assert e.seq == i
    async with store.uow() as uow:
        assert [e.seq for e in await uow.audit.list(AuditFilter(actor="bob"))] == [1, 3, 5]
        assert [e.seq for e in await uow.audit.list(AuditFilter(target="deployment/d2"))] == [2]
        since = await uow.audit.list(AuditFilter(since=T0 + timedelta(seconds=4)))
        assert [e.seq for e in since] == [4, 5]
        assert [e.seq for e in await uow.audit.list(AuditFilter(after_seq=3, limit=1))] == [4]
        assert (await uow.audit.list(AuditFilter(target="deployment/d1")))[0].details == {"n": "1"}
    result = await verify(store)
    assert isinstance(result, ChainOk) and result.count == 5


async def test_rolled_back_change_leaves_no_event(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.uow() as uow:
            await uow.audit.append(draft(1))
            raise RuntimeError("the change failed")
    async with store.uow() as uow:
        assert await uow.audit.head() == (0, "0" * 64)
        await uow.audit.append(draft(2))
    assert await verify(store) == ChainOk(1, (await verify_head(store))[1])


async def verify_head(store: Store) -> tuple[int, str]:
    async with store.uow() as uow:
        return await uow.audit.head()


@pytest.mark.parametrize(("sql", "seq", "reason"), [
    ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", 3, "content"),
    ("UPDATE audit_events SET outcome = 'denied' WHERE seq = 2", 2, "content"),
    ("DELETE FROM audit_events WHERE seq = 4", 4, "missing"),
    ("DELETE FROM audit_events WHERE seq = 6", 6, "missing"),
])
async def test_direct_database_edits_are_detected(store: Store, sql: str, seq: int,
                                                  reason: str) -> None:
    async with store.uow() as uow:
        for i in range(1, 7):
            await uow.audit.append(draft(i))
    await asyncio.to_thread(tamper, store, sql)
    result = await verify(store)
    assert isinstance(result, ChainBroken), result
    assert result.seq == seq and reason in result.reason


async def test_concurrent_appends_never_fork_the_chain(store: Store) -> None:
    async def writer(w: int) -> None:
        for i in range(8):
            async with store.uow() as uow:
                await uow.audit.append(draft(i, actor=f"w{w}"))

    await asyncio.gather(*(writer(w) for w in range(6)))
    result = await verify(store)
    assert result == ChainOk(48, (await verify_head(store))[1])


async def test_teams_users_and_scoped_keys(store: Store) -> None:
    async with store.uow() as uow:
        await uow.teams.add(Team("ml", T0))
        await uow.teams.add_user(User("ann", "ml", Role.DEVELOPER, T0))
        key = ApiKey("k1", "abcd1234", "h" * 64, "app", "ml", Role.INVOKER, T0,
                     scopes=frozenset({Scope.INFERENCE}), deployments=("iris", "wine"),
                     user=None, created_by="admin")
        await uow.keys.add(key)
    with pytest.raises(ModelyardError) as info:
        async with store.uow() as uow:
            await uow.teams.add(Team("ml", T0))
    assert info.value.code == ErrorCode.ALREADY_EXISTS
    async with store.uow() as uow:
        assert [t.name for t in await uow.teams.all()] == ["ml"]
        assert await uow.teams.user("ann", "ml") == User("ann", "ml", Role.DEVELOPER, T0)
        assert await uow.teams.user("ann", "other") is None
        assert await uow.keys.get("k1") == key
        revoked = await uow.keys.revoke(key, T0)
        assert revoked.revoked_at == T0 and await uow.keys.revoke(revoked, T0) == revoked
    async with store.uow() as uow:
        got = await uow.keys.by_prefix("abcd1234")
        assert got is not None and got.revoked_at == T0 and got.deployments == ("iris", "wine")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_upgrade_from_0001_keeps_keys_with_both_scopes(kind: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from modelyard.store.schema import MIGRATIONS

    with database_url(kind, tmp_path) as url:
        engine = create_engine(sync_url(url))
        with engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.execute(text("INSERT INTO api_keys (id, prefix, key_hash, name, team, role, "
                              "created_at) VALUES ('old', 'abcd1234', 'h', 'admin', 'default', "
                              "'admin', '2026-01-01T00:00:00+00:00')"))
        engine.dispose()
        store = Store(url)
        try:
            await asyncio.to_thread(store.migrate)
            async with store.uow() as uow:
                key = await uow.keys.get("old")
                assert key is not None and key.scopes == {Scope.MANAGEMENT, Scope.INFERENCE}
                assert key.deployments == () and key.user is None
                assert await uow.audit.head() == (0, "0" * 64)
        finally:
            await store.close()
