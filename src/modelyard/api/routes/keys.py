"""API key routes: create (the key is shown once), list, revoke.

A key is bound to one team and never outranks its creator (nor its user, when it has
one). Creating or revoking a key wakes the routing controller, so gateways get a table
with (or without) the key within a controller tick.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller
from modelyard.api.routes.teams import visible_team
from modelyard.api.schemas.tenancy import KeyCreate, KeyCreated, KeyPublic
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import check_name
from modelyard.domain.tenancy import (
    ALL_SCOPES,
    ApiKey,
    Role,
    Scope,
    can_grant,
    generate_key,
    is_within,
)
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["keys"])


def _scopes(body: KeyCreate) -> frozenset[Scope]:
    if body.role == Role.INVOKER:
        scopes = frozenset(body.scopes or [Scope.INFERENCE])
        if scopes != {Scope.INFERENCE}:
            raise ModelyardError(ErrorCode.INVALID_REQUEST, "invoker keys have inference scope only")
        if not body.deployments:
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 "invoker keys must name the deployments they may call")
        return scopes
    scopes = frozenset(body.scopes) if body.scopes is not None else ALL_SCOPES
    if not scopes:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, "a key needs at least one scope")
    return scopes


async def _check_deployments(uow: UnitOfWork, names: list[str], team: str) -> tuple[str, ...]:
    for name in names:
        check_name(name, "deployment name")
        dep = await uow.deployments.get(name)
        if dep is None or dep.team != team:
            raise ModelyardError(ErrorCode.DEPLOYMENT_NOT_FOUND, f"no deployment {name!r}")
    return tuple(sorted(set(names)))


@router.post("/keys", status_code=201, response_model=KeyCreated)
async def create_key(body: KeyCreate, cp: CP, who: Caller, audit: Audit) -> KeyCreated:
    """Create a key for a user or a service account; the response is the only copy."""
    check_name(body.name, "key name")
    scopes = _scopes(body)
    now = cp.clock.now()
    async with cp.store.uow() as uow:
        team = await visible_team(uow, body.team or who.team, who)
        require(who, Action.MANAGE_TEAM, team.name)
        if not can_grant(who.role, body.role):
            raise ModelyardError(ErrorCode.FORBIDDEN, f"role {who.role} may not grant {body.role}")
        if body.user is not None:
            user = await uow.teams.user(body.user, team.name)
            if user is None:
                raise ModelyardError(ErrorCode.USER_NOT_FOUND,
                                     f"no user {body.user!r} in team {team.name!r}")
            if not is_within(body.role, user.role):
                raise ModelyardError(ErrorCode.FORBIDDEN,
                                     f"user {user.name!r} is {user.role}; the key may not be {body.role}")
        deployments = await _check_deployments(uow, body.deployments, team.name)
        plaintext, prefix, key_hash = generate_key()
        expires = now + timedelta(seconds=body.expires_in_s) if body.expires_in_s else None
        key = ApiKey(uuid.uuid4().hex, prefix, key_hash, body.name, team.name, body.role, now,
                     expires_at=expires, scopes=scopes, deployments=deployments, user=body.user,
                     created_by=who.name)
        await uow.keys.add(key)
        public = KeyPublic.from_domain(key, now)
        await audit.record(uow, f"key/{key.id}", team.name, after=public.model_dump(mode="json"))
    cp.changed()
    return KeyCreated(**public.model_dump(), key=plaintext)


@router.get("/keys", response_model=list[KeyPublic])
async def list_keys(cp: CP, who: Caller) -> list[KeyPublic]:
    """Keys of the teams the caller may manage; never a key or a hash."""
    now = cp.clock.now()
    async with cp.store.uow() as uow:
        return [KeyPublic.from_domain(k, now) for k in await uow.keys.all()
                if is_visible(who, k.team)]


@router.delete("/keys/{key_id}", response_model=KeyPublic)
async def revoke_key(key_id: str, cp: CP, who: Caller, audit: Audit) -> KeyPublic:
    """Revoke a key at once: the API refuses it now, gateways within seconds."""
    now = cp.clock.now()
    async with cp.store.uow() as uow:
        key = await uow.keys.get(key_id)
        if key is None or not is_visible(who, key.team):
            raise ModelyardError(ErrorCode.KEY_NOT_FOUND, f"no key {key_id[:64]!r}")
        require(who, Action.MANAGE_TEAM, key.team)
        if not can_grant(who.role, key.role):
            raise ModelyardError(ErrorCode.FORBIDDEN, f"role {who.role} may not revoke a {key.role} key")
        before = KeyPublic.from_domain(key, now)
        revoked = await uow.keys.revoke(key, now)
        after = KeyPublic.from_domain(revoked, now)
        await audit.record(uow, f"key/{key.id}", key.team, before=before.model_dump(mode="json"),
                           after=after.model_dump(mode="json"))
    cp.changed()
    return after
