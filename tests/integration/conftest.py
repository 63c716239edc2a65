"""The ``store`` fixture: every store test runs on real SQLite and real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modelyard.store.unit_of_work import Store
from tests.support.databases import database_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    with database_url(request.param, tmp_path) as url:
        s = Store(url)
        await asyncio.to_thread(s.migrate)
        try:
            yield s
        finally:
            await s.close()
