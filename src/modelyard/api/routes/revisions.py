"""Revision routes: update, history, rollback, validations and environment promotion.

Promotion copies a staging revision to a production deployment only when the revision's
latest recorded validation passed; an admin may override with a reason, kept as an event.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from fastapi import APIRouter

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller, ControlPlane
from modelyard.api.routes.deployments import _public, _visible
from modelyard.api.schemas.deployments import DeploymentPublic, RevisionPublic
from modelyard.api.schemas.rollouts import (
    HistoryPublic,
    PromotionCreate,
    RevisionCreate,
    RollbackCreate,
    ValidationCreate,
    ValidationPublic,
)
from modelyard.api.updates import start_update
from modelyard.domain.deployments import Deployment, Environment, Revision, RevisionSpec
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.frameworks import check_compile
from modelyard.domain.ids import check_name
from modelyard.domain.rollouts import HistoryEntry, HistoryKind, Rollout, Validation
from modelyard.domain.tenancy import Principal, Role
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["revisions"])


def _update_public(revision: Revision, rollout: Rollout, dep: DeploymentPublic) -> dict[str, Any]:
    return {"revision": RevisionPublic.from_domain(revision).model_dump(mode="json"),
            "rollout_id": rollout.id, "strategy": str(rollout.spec.strategy),
            "deployment": dep.model_dump(mode="json")}


async def _revision(uow: UnitOfWork, name: str, number: int) -> Revision:
    rev = await uow.deployments.revision(name, number)
    if rev is None:
        raise ModelyardError(ErrorCode.REVISION_NOT_FOUND, f"{name!r} has no revision {number}")
    return rev


async def _resolve_spec(cp: ControlPlane, uow: UnitOfWork, dep: Deployment, body: RevisionCreate,
                        who: Principal) -> RevisionSpec:
    current = await _revision(uow, dep.name, dep.current_revision)
    model_name = body.model or current.spec.model
    serving = replace(
        current.spec, replicas=body.replicas,
        max_batch_size=(current.spec.max_batch_size if body.max_batch_size is None
                        else body.max_batch_size),
        max_batch_delay_ms=(current.spec.max_batch_delay_ms if body.max_batch_delay_ms is None
                            else body.max_batch_delay_ms),
        instances=current.spec.instances if body.instances is None else body.instances,
        compile=current.spec.compile if body.compile is None else body.compile)
    if body.version is None and body.alias is None and body.model is None:
        return serving
    model = await cp.registry.model(uow, model_name)
    if not is_visible(who, model.team):
        raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model {model_name!r}")
    version = await cp.registry.resolve(uow, model_name, body.version, body.alias)
    await asyncio.to_thread(cp.artifacts.verify, version.digest, version.artifact_name)
    return replace(serving, model=version.model, version=version.version, alias=body.alias,
                   framework=version.framework, digest=version.digest,
                   artifact_name=version.artifact_name)


@router.post("/deployments/{name}/revisions", status_code=201)
async def create_revision(name: str, body: RevisionCreate, cp: CP, who: Caller,
                          audit: Audit) -> dict[str, Any]:
    """Change a deployment's spec: a new revision rolled out with the chosen strategy."""
    if body.version is not None and body.alias is not None:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, "give at most one of version and alias")
    async with cp.store.uow() as uow:
        dep = await _visible(uow, name, who)
        require(who, Action.DEPLOY, dep.team, dep.environment)
        spec = await _resolve_spec(cp, uow, dep, body, who)
        check_compile(spec.framework, spec.engine, spec.compile)
        revision, rollout = await start_update(uow, dep, spec, body.rollout_spec(), who=who,
                                               message=body.message, now=cp.clock.now())
        result = _update_public(revision, rollout, await _public(uow, await _visible(uow, name, who)))
        await audit.record(uow, f"deployment/{name}", dep.team, before={"revision": dep.current_revision},
                           after={"revision": revision.number, "rollout": rollout.id})
    cp.changed()
    return result


@router.get("/deployments/{name}/revisions", response_model=list[RevisionPublic])
async def list_revisions(name: str, cp: CP, who: Caller) -> list[RevisionPublic]:
    """Every revision of a deployment, oldest first."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
        return [RevisionPublic.from_domain(r) for r in await uow.deployments.revisions(name)]


@router.get("/deployments/{name}/history", response_model=list[HistoryPublic])
async def deployment_history(name: str, cp: CP, who: Caller) -> list[HistoryPublic]:
    """Rollout steps, aborts, promotions, rollbacks and gate decisions, oldest first."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
        return [HistoryPublic.from_domain(e) for e in await uow.rollouts.history(name)]


async def _rollback_target(uow: UnitOfWork, dep: Deployment, to: int | None) -> Revision:
    if to is not None:
        return await _revision(uow, dep.name, to)
    current = await _revision(uow, dep.name, dep.current_revision)
    for rev in reversed(await uow.deployments.revisions(dep.name)):
        if rev.number < dep.current_revision and replace(rev.spec, replicas=None) != replace(
                current.spec, replicas=None):
            return rev
    raise ModelyardError(ErrorCode.REVISION_NOT_FOUND,
                         f"{dep.name!r} has no earlier revision with a different spec")


@router.post("/deployments/{name}/rollback", status_code=201)
async def rollback(name: str, body: RollbackCreate, cp: CP, who: Caller,
                   audit: Audit) -> dict[str, Any]:
    """Restore an earlier revision's spec (default: the last different one) as a new revision."""
    async with cp.store.uow() as uow:
        dep = await _visible(uow, name, who)
        require(who, Action.DEPLOY, dep.team, dep.environment)
        target = await _rollback_target(uow, dep, body.to_revision)
        message = body.message or f"rollback to revision {target.number}"
        revision, rollout = await start_update(uow, dep, target.spec, body.rollout_spec(),
                                               who=who, message=message, now=cp.clock.now(),
                                               kind=HistoryKind.ROLLBACK)
        result = _update_public(revision, rollout, await _public(uow, await _visible(uow, name, who)))
        await audit.record(uow, f"deployment/{name}", dep.team, before={"revision": dep.current_revision},
                           after={"revision": revision.number, "rollout": rollout.id,
                                  "restored": target.number})
    cp.changed()
    return result


@router.post("/deployments/{name}/revisions/{number}/validations", status_code=201,
             response_model=ValidationPublic)
async def record_validation(name: str, number: int, body: ValidationCreate, cp: CP,
                            who: Caller, audit: Audit) -> ValidationPublic:
    """Record whether a revision passed its validation (the promotion gate reads the latest)."""
    async with cp.store.uow() as uow:
        dep = await _visible(uow, name, who)
        require(who, Action.DEPLOY, dep.team, dep.environment)
        await _revision(uow, name, number)
        now = cp.clock.now()
        v = await uow.rollouts.add_validation(Validation(name, number, body.passed, body.summary,
                                                         now, who.name, figures=body.figures,
                                                         command=body.command))
        verdict = "passed" if body.passed else "failed"
        await uow.rollouts.record(HistoryEntry(name, now, HistoryKind.VALIDATION, who.name,
                                               f"revision {number} {verdict} validation: "
                                               f"{body.summary}".rstrip(": "), None, number))
        result = ValidationPublic.from_domain(v)
        await audit.record(uow, f"deployment/{name}/revisions/{number}", dep.team,
                           after=result.model_dump(mode="json"))
    return result


@router.get("/deployments/{name}/revisions/{number}/validations",
            response_model=list[ValidationPublic])
async def list_validations(name: str, number: int, cp: CP, who: Caller) -> list[ValidationPublic]:
    """Validation results of one revision, oldest first."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
        return [ValidationPublic.from_domain(v) for v in await uow.rollouts.validations(name, number)]


async def _gate(uow: UnitOfWork, name: str, number: int, body: PromotionCreate,
                who: Principal) -> str:
    validations = await uow.rollouts.validations(name, number)
    latest = validations[-1] if validations else None
    if latest is not None and latest.passed:
        return f"validation passed: {latest.summary}".rstrip(": ")
    why = "has no validation" if latest is None else f"failed its latest validation: {latest.summary}"
    if body.override_reason is None:
        raise ModelyardError(ErrorCode.PROMOTION_BLOCKED, f"revision {number} of {name!r} {why}",
                             details={"deployment": name, "revision": number})
    if who.role != Role.ADMIN:
        raise ModelyardError(ErrorCode.FORBIDDEN, "only an admin may override the promotion gate")
    return f"gate overridden by {who.name}: {body.override_reason} (revision {why})"


@router.post("/deployments/{name}/promotions", status_code=201)
async def promote_environment(name: str, body: PromotionCreate, cp: CP,
                              who: Caller, audit: Audit) -> dict[str, Any]:
    """Copy a staging revision to a production deployment if its validation passed."""
    check_name(body.target, "deployment name")
    async with cp.store.uow() as uow:
        source = await _visible(uow, name, who)
        if source.environment != Environment.STAGING:
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 f"{name!r} is in {source.environment}; promote from staging")
        number = body.revision or source.current_revision
        revision = await _revision(uow, name, number)
        require(who, Action.DEPLOY, source.team, Environment.PRODUCTION)
        gate = await _gate(uow, name, number, body, who)
        now = cp.clock.now()
        text = body.message or f"promoted {name} revision {number} from staging"
        target = await uow.deployments.get(body.target)
        if target is None:
            desired = revision.spec.replicas or source.desired_replicas
            target = Deployment(body.target, source.team, Environment.PRODUCTION, desired, 1, now, now)
            await uow.deployments.add(target, Revision(body.target, 1, revision.spec, now, who.name,
                                                       text))
            new_number, rollout_id = 1, None
        else:
            if not is_visible(who, target.team) or target.environment != Environment.PRODUCTION:
                raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                     f"{body.target!r} is not a production deployment of yours")
            new_rev, rollout = await start_update(uow, target, revision.spec, body.rollout_spec(),
                                                  who=who, message=text, now=now)
            new_number, rollout_id = new_rev.number, rollout.id
        kind = HistoryKind.GATE_OVERRIDDEN if body.override_reason else HistoryKind.ENVIRONMENT_PROMOTION
        for dep_name, rev_no in ((name, number), (body.target, new_number)):
            await uow.rollouts.record(HistoryEntry(dep_name, now, kind, who.name, f"{text}; {gate}",
                                                   rollout_id if dep_name == body.target else None,
                                                   rev_no))
        result = await _public(uow, await _visible(uow, body.target, who))
        # an admin passing the promotion gate is an admin override in the audit log
        await audit.record(uow, f"deployment/{body.target}", source.team,
                           after={"source": name, "source_revision": number,
                                  "target_revision": new_number},
                           details={"override": "true", "override_reason": body.override_reason}
                           if body.override_reason else None)
    cp.changed()
    return {"source": name, "source_revision": number, "target": body.target,
            "target_revision": new_number, "rollout_id": rollout_id, "gate": gate,
            "deployment": result.model_dump(mode="json")}
