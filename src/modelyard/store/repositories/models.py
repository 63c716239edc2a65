"""SqlModelRepository: models, immutable versions and aliases."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.models import Alias, Model, ModelVersion
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc_req


def _model(row: Any) -> Model:
    return Model(row.name, row.team, row.description, utc_req(row.created_at), row.created_by)


def _version(row: Any) -> ModelVersion:
    return ModelVersion(
        model=row.model, version=row.version, digest=row.digest, framework=row.framework,
        task=row.task, size_bytes=row.size_bytes, artifact_name=row.artifact_name,
        created_at=utc_req(row.created_at), created_by=row.created_by,
        tags=json.loads(row.tags), input_schema=row.input_schema, output_schema=row.output_schema,
    )


class SqlModelRepository:
    """Models, versions and aliases in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, name: str) -> Model | None:
        """Return the model or None."""
        row = (await self.conn.execute(select(t.models).where(t.models.c.name == name))).first()
        return _model(row) if row else None

    async def all(self, team: str | None = None) -> list[Model]:
        """Return models, optionally of one team, by name."""
        q = select(t.models).order_by(t.models.c.name)
        if team is not None:
            q = q.where(t.models.c.team == team)
        return [_model(r) for r in await self.conn.execute(q)]

    async def add(self, model: Model) -> None:
        """Insert a model (no-op if it exists)."""
        if await self.get(model.name) is None:
            await self.conn.execute(insert(t.models).values(
                name=model.name, team=model.team, description=model.description,
                created_at=model.created_at, created_by=model.created_by))

    async def delete(self, name: str) -> None:
        """Delete a model with its versions and aliases."""
        await self.conn.execute(delete(t.aliases).where(t.aliases.c.model == name))
        await self.conn.execute(delete(t.model_versions).where(t.model_versions.c.model == name))
        await self.conn.execute(delete(t.models).where(t.models.c.name == name))

    async def next_version(self, name: str) -> int:
        """Return the number the next version of ``name`` gets."""
        q = select(func.max(t.model_versions.c.version)).where(t.model_versions.c.model == name)
        return int((await self.conn.execute(q)).scalar() or 0) + 1

    async def add_version(self, v: ModelVersion) -> None:
        """Insert an immutable version; a concurrent duplicate number is a conflict."""
        try:
            await self.conn.execute(insert(t.model_versions).values(
                model=v.model, version=v.version, digest=v.digest, framework=v.framework,
                task=v.task, size_bytes=v.size_bytes, artifact_name=v.artifact_name,
                tags=json.dumps(dict(v.tags), sort_keys=True), input_schema=v.input_schema,
                output_schema=v.output_schema, created_at=v.created_at, created_by=v.created_by))
        except IntegrityError:
            raise ModelyardError(ErrorCode.CONFLICT, "another version was registered meanwhile") from None

    async def get_version(self, name: str, version: int) -> ModelVersion | None:
        """Return one version or None."""
        q = select(t.model_versions).where(
            t.model_versions.c.model == name, t.model_versions.c.version == version)
        row = (await self.conn.execute(q)).first()
        return _version(row) if row else None

    async def versions(self, name: str) -> list[ModelVersion]:
        """Return every version of ``name`` in order."""
        q = select(t.model_versions).where(t.model_versions.c.model == name).order_by(
            t.model_versions.c.version)
        return [_version(r) for r in await self.conn.execute(q)]

    async def delete_version(self, name: str, version: int) -> None:
        """Delete one version and the aliases on it."""
        await self.conn.execute(delete(t.aliases).where(
            t.aliases.c.model == name, t.aliases.c.version == version))
        await self.conn.execute(delete(t.model_versions).where(
            t.model_versions.c.model == name, t.model_versions.c.version == version))

    async def digest_in_use(self, digest: str) -> bool:
        """True when any version still references ``digest``."""
        q = select(func.count()).select_from(t.model_versions).where(
            t.model_versions.c.digest == digest)
        return bool((await self.conn.execute(q)).scalar())

    async def aliases(self, name: str) -> list[Alias]:
        """Return the aliases of ``name``."""
        q = select(t.aliases).where(t.aliases.c.model == name).order_by(t.aliases.c.name)
        return [Alias(r.model, r.name, r.version) for r in await self.conn.execute(q)]

    async def get_alias(self, name: str, alias: str) -> Alias | None:
        """Return one alias or None."""
        q = select(t.aliases).where(t.aliases.c.model == name, t.aliases.c.name == alias)
        row = (await self.conn.execute(q)).first()
        return Alias(row.model, row.name, row.version) if row else None

    async def set_alias(self, alias: Alias) -> None:
        """Create or move an alias."""
        found = await self.get_alias(alias.model, alias.name)
        if found is None:
            await self.conn.execute(insert(t.aliases).values(
                model=alias.model, name=alias.name, version=alias.version))
        else:
            await self.conn.execute(update(t.aliases).where(
                t.aliases.c.model == alias.model, t.aliases.c.name == alias.name
            ).values(version=alias.version))

    async def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        await self.conn.execute(delete(t.aliases).where(
            t.aliases.c.model == name, t.aliases.c.name == alias))
