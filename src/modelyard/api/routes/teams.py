"""Team and user routes: admins create teams; team-admins add users to their team."""

from __future__ import annotations

from fastapi import APIRouter, Query

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller
from modelyard.api.schemas.tenancy import TeamCreate, TeamPublic, UserCreate, UserPublic
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import check_name
from modelyard.domain.tenancy import USER_ROLES, Principal, Team, User, can_grant
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["teams"])


async def visible_team(uow: UnitOfWork, name: str, who: Principal) -> Team:
    """The team ``name`` if it exists and the caller may see it, else ``team_not_found``."""
    team = await uow.teams.get(name) if is_visible(who, name) else None
    if team is None:
        raise ModelyardError(ErrorCode.TEAM_NOT_FOUND, f"no team {name[:63]!r}")
    return team


@router.post("/teams", status_code=201, response_model=TeamPublic)
async def create_team(body: TeamCreate, cp: CP, who: Caller, audit: Audit) -> TeamPublic:
    """Create a team (admin)."""
    check_name(body.name, "team name")
    team = Team(body.name, cp.clock.now())
    result = TeamPublic.from_domain(team)
    async with cp.store.uow() as uow:
        if await uow.teams.get(body.name) is not None:
            raise ModelyardError(ErrorCode.ALREADY_EXISTS, f"team {body.name!r} exists")
        await uow.teams.add(team)
        await audit.record(uow, f"team/{team.name}", team.name, after=result.model_dump(mode="json"))
    return result


@router.get("/teams", response_model=list[TeamPublic])
async def list_teams(cp: CP, who: Caller) -> list[TeamPublic]:
    """The teams the caller may see (admin: all; others: their own)."""
    async with cp.store.uow() as uow:
        return [TeamPublic.from_domain(t) for t in await uow.teams.all() if is_visible(who, t.name)]


@router.post("/users", status_code=201, response_model=UserPublic)
async def create_user(body: UserCreate, cp: CP, who: Caller, audit: Audit) -> UserPublic:
    """Add a user to a team (default: the caller's) with a role no higher than the caller's."""
    check_name(body.name, "user name")
    team_name = body.team or who.team
    if body.role not in USER_ROLES:
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             "invoker is for service-account keys, not users")
    async with cp.store.uow() as uow:
        team = await visible_team(uow, team_name, who)
        require(who, Action.MANAGE_TEAM, team.name)
        if not can_grant(who.role, body.role):
            raise ModelyardError(ErrorCode.FORBIDDEN, f"role {who.role} may not grant {body.role}")
        user = User(body.name, team.name, body.role, cp.clock.now())
        if await uow.teams.user(user.name, user.team) is not None:
            raise ModelyardError(ErrorCode.ALREADY_EXISTS,
                                 f"user {user.name!r} is in team {user.team!r} already")
        await uow.teams.add_user(user)
        result = UserPublic.from_domain(user)
        await audit.record(uow, f"user/{team.name}/{user.name}", team.name,
                           after=result.model_dump(mode="json"))
    return result


@router.get("/users", response_model=list[UserPublic])
async def list_users(cp: CP, who: Caller,
                     team: str | None = Query(None, min_length=1, max_length=63)) -> list[UserPublic]:
    """Users of the teams the caller may see, optionally of one team."""
    async with cp.store.uow() as uow:
        return [UserPublic.from_domain(u) for u in await uow.teams.users()
                if is_visible(who, u.team) and (team is None or u.team == team)]
