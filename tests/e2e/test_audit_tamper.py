"""``modelyard audit verify`` names the first broken link after a direct database edit.

The platform runs on SQLite and on PostgreSQL; the edit is made with sqlite3 / psycopg,
outside modelyard, the way an intruder with database access would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cli import cli_json, run_cli
from tests.support.databases import fresh_postgres
from tests.support.platform import PlatformProcess


@contextmanager
def platform_on(kind: str, home: Path) -> Iterator[tuple[PlatformProcess, str]]:
    if kind == "sqlite":
        p = PlatformProcess(home, "server").start()
        try:
            yield p, str(home / "modelyard.db")
        finally:
            p.stop()
    else:
        with fresh_postgres() as url:
            p = PlatformProcess(home, "server", env={"DATABASE_URL": url}).start()
            try:
                yield p, url.replace("postgresql+psycopg://", "postgresql://")
            finally:
                p.stop()


def execute(kind: str, where: str, sql: str) -> None:
    if kind == "sqlite":
        with sqlite3.connect(where) as conn:
            conn.execute(sql)
        return
    import psycopg

    with psycopg.connect(where, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_audit_verify_names_the_edited_event(kind: str, tmp_path: Path) -> None:
    with platform_on(kind, tmp_path / "home") as (p, where):
        for team in ("t1", "t2", "t3", "t4"):
            cli_json(p.url, p.key, "teams", "create", team)
        events = cli_json(p.url, p.key, "audit", "list", "--action", "team.create")
        assert [e["target"] for e in events] == ["team/t1", "team/t2", "team/t3", "team/t4"]
        ok = run_cli(p.url, p.key, "audit", "verify")
        assert "audit chain intact: 5 events" in ok.stdout  # the bootstrap key, 4 teams
        victim = events[1]["seq"]
        execute(kind, where, f"UPDATE audit_events SET actor = 'someone-else' WHERE seq = {victim}")
        broken = run_cli(p.url, p.key, "audit", "verify", check=False)
        assert broken.returncode == 1
        assert f"audit chain broken at event {victim}" in broken.stderr
        report = cli_json_unchecked(p, "audit", "verify")
        assert report["ok"] is False and report["broken_seq"] == victim
        assert report["checked"] == victim - 1
        # putting it back restores the chain; deleting an event is caught as well
        execute(kind, where, f"UPDATE audit_events SET actor = 'admin' WHERE seq = {victim}")
        assert cli_json(p.url, p.key, "audit", "verify")["ok"] is True
        execute(kind, where, f"DELETE FROM audit_events WHERE seq = {victim + 1}")
        gap = cli_json_unchecked(p, "audit", "verify")
        assert gap["broken_seq"] == victim + 1 and "missing" in gap["reason"]


def cli_json_unchecked(p: PlatformProcess, *args: str) -> dict[str, object]:
    import json

    done = run_cli(p.url, p.key, *args, "-o", "json", check=False)
    result: dict[str, object] = json.loads(done.stdout)
    return result
