"""SqlTeamRepository: teams and their users (memberships with a role)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import Role, Team, User
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc_req


def _user(row: Any) -> User:
    return User(row.name, row.team, Role(row.role), utc_req(row.created_at))


class SqlTeamRepository:
    """Teams and users in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, team: Team) -> None:
        """Insert a team; ``already_exists`` when the name is taken."""
        try:
            await self.conn.execute(insert(t.teams).values(name=team.name,
                                                           created_at=team.created_at))
        except IntegrityError:
            raise ModelyardError(ErrorCode.ALREADY_EXISTS, f"team {team.name!r} exists") from None

    async def get(self, name: str) -> Team | None:
        """Return the team, or None."""
        row = (await self.conn.execute(select(t.teams).where(t.teams.c.name == name))).first()
        return Team(row.name, utc_req(row.created_at)) if row else None

    async def all(self) -> list[Team]:
        """Every team, by name."""
        rows = await self.conn.execute(select(t.teams).order_by(t.teams.c.name))
        return [Team(r.name, utc_req(r.created_at)) for r in rows]

    async def add_user(self, user: User) -> None:
        """Add a membership; ``already_exists`` when the user is in the team already."""
        try:
            await self.conn.execute(insert(t.users).values(
                name=user.name, team=user.team, role=str(user.role), created_at=user.created_at))
        except IntegrityError:
            raise ModelyardError(ErrorCode.ALREADY_EXISTS,
                                 f"user {user.name!r} is in team {user.team!r} already") from None

    async def user(self, name: str, team: str) -> User | None:
        """Return the membership of ``name`` in ``team``, or None."""
        q = select(t.users).where(t.users.c.name == name, t.users.c.team == team)
        row = (await self.conn.execute(q)).first()
        return _user(row) if row else None

    async def users(self) -> list[User]:
        """Every membership, by team then name."""
        rows = await self.conn.execute(select(t.users).order_by(t.users.c.team, t.users.c.name))
        return [_user(r) for r in rows]
