"""Deployment routes: create, list, show, scale, delete; replicas and their logs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller
from modelyard.api.routes.budgets import check_budget
from modelyard.api.schemas.deployments import (
    DeploymentCreate,
    DeploymentPublic,
    ReplicaPublic,
    ScaleUpdate,
)
from modelyard.domain.deployments import Deployment, Resources, Revision, RevisionSpec
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.frameworks import BUILTIN_FRAMEWORKS, check_compile
from modelyard.domain.ids import check_name
from modelyard.domain.tenancy import Principal
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["deployments"])


async def _visible(uow: UnitOfWork, name: str, who: Principal) -> Deployment:
    dep = await uow.deployments.get(name)
    if dep is None or not is_visible(who, dep.team):
        raise ModelyardError(ErrorCode.DEPLOYMENT_NOT_FOUND, f"no deployment {name!r}")
    return dep


async def _public(uow: UnitOfWork, dep: Deployment) -> DeploymentPublic:
    revision = await uow.deployments.revision(dep.name, dep.current_revision)
    return DeploymentPublic.from_domain(dep, revision, await uow.replicas.all(dep.name))


def _state(d: DeploymentPublic) -> dict[str, object]:
    """What an audit digest covers: the desired state, not the moving replica states."""
    return d.model_dump(mode="json", exclude={"replicas", "ready_replicas", "status"})


def _resources(body: DeploymentCreate) -> Resources:
    """The scheduler request; an engine takes one whole GPU per tensor-parallel rank."""
    resources = body.resources.to_domain() if body.resources else Resources()
    if body.engine is not None and resources.gpu_count == 0:
        tp = body.engine_settings.tensor_parallel_size if body.engine_settings else 1
        resources = replace(resources, gpu_count=tp, gpu_milli=1000)
    return resources


def _check_serving(cp: CP, framework: str, body: DeploymentCreate) -> None:
    """Refuse what no replica could serve: an absent engine, or no runtime for the model."""
    check_compile(framework, body.engine, body.compile)
    if body.engine is not None:
        cp.check_engine(body.engine)
        return
    if body.engine_settings is not None:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, "engine_settings need an engine")
    if framework not in BUILTIN_FRAMEWORKS:
        raise ModelyardError(ErrorCode.UNSUPPORTED_FRAMEWORK,
                             f"no built-in runtime serves {framework!r} models; deploy with an "
                             "engine (for gguf: --engine llamacpp)")


@router.post("/deployments", status_code=201, response_model=DeploymentPublic)
async def create_deployment(body: DeploymentCreate, cp: CP, who: Caller,
                            audit: Audit) -> DeploymentPublic:
    """Deploy a model version; the artifact is verified before anything starts."""
    check_name(body.name, "deployment name")
    require(who, Action.DEPLOY, who.team, body.environment)
    async with cp.store.uow() as uow:
        model = await cp.registry.model(uow, body.model)
        if not is_visible(who, model.team):
            raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model {body.model!r}")
        version = await cp.registry.resolve(uow, body.model, body.version, body.alias)
        if (await uow.deployments.get(body.name) is not None
                or await uow.external.get(body.name) is not None):
            raise ModelyardError(ErrorCode.ALREADY_EXISTS, f"deployment {body.name!r} exists")
        _check_serving(cp, version.framework, body)
        await check_budget(uow, cp, model.team)
        await asyncio.to_thread(cp.artifacts.verify, version.digest, version.artifact_name)
        now = cp.clock.now()
        settings = body.engine_settings.to_domain() if body.engine_settings else None
        spec = RevisionSpec(version.model, version.version, body.alias, version.framework,
                            version.digest, version.artifact_name,
                            max_batch_size=body.max_batch_size,
                            max_batch_delay_ms=body.max_batch_delay_ms,
                            instances=body.instances, compile=body.compile,
                            engine=body.engine,
                            engine_settings=settings, resources=_resources(body))
        dep = Deployment(body.name, model.team, body.environment, body.replicas, 1, now, now)
        await uow.deployments.add(dep, Revision(body.name, 1, spec, now, who.name, body.message))
        result = await _public(uow, dep)
        await audit.record(uow, f"deployment/{dep.name}", dep.team, after=_state(result))
    cp.changed()
    return result


@router.get("/deployments", response_model=list[DeploymentPublic])
async def list_deployments(cp: CP, who: Caller) -> list[DeploymentPublic]:
    """Every deployment the caller may see."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        return [await _public(uow, d) for d in await uow.deployments.all()
                if is_visible(who, d.team)]


@router.get("/deployments/{name}", response_model=DeploymentPublic)
async def get_deployment(name: str, cp: CP, who: Caller) -> DeploymentPublic:
    """One deployment with its replicas."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        return await _public(uow, await _visible(uow, name, who))


@router.post("/deployments/{name}/scale", response_model=DeploymentPublic)
async def scale_deployment(name: str, body: ScaleUpdate, cp: CP, who: Caller,
                           audit: Audit) -> DeploymentPublic:
    """Change the desired replica count."""
    async with cp.store.uow() as uow:
        dep = await _visible(uow, name, who)
        require(who, Action.DEPLOY, dep.team, dep.environment)
        if dep.deleting:
            raise ModelyardError(ErrorCode.CONFLICT, f"deployment {name!r} is being deleted")
        before = _state(await _public(uow, dep))
        dep = await uow.deployments.save(replace(dep, desired_replicas=body.replicas),
                                         cp.clock.now())
        result = await _public(uow, dep)
        await audit.record(uow, f"deployment/{dep.name}", dep.team, before=before,
                           after=_state(result))
    cp.changed()
    return result


@router.delete("/deployments/{name}", status_code=202, response_model=DeploymentPublic)
async def delete_deployment(name: str, cp: CP, who: Caller, audit: Audit) -> DeploymentPublic:
    """Stop every replica and remove the deployment (asynchronously)."""
    async with cp.store.uow() as uow:
        dep = await _visible(uow, name, who)
        require(who, Action.DEPLOY, dep.team, dep.environment)
        before = _state(await _public(uow, dep))
        if not dep.deleting:
            dep = await uow.deployments.save(replace(dep, deleting=True), cp.clock.now())
        result = await _public(uow, dep)
        await audit.record(uow, f"deployment/{dep.name}", dep.team, before=before,
                           after=_state(result))
    cp.changed()
    return result


@router.get("/deployments/{name}/replicas", response_model=list[ReplicaPublic])
async def list_replicas(name: str, cp: CP, who: Caller) -> list[ReplicaPublic]:
    """The replicas of a deployment."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
        return [ReplicaPublic.from_domain(r) for r in await uow.replicas.all(name)]


@router.get("/replicas/{replica_id}/logs", response_class=PlainTextResponse)
async def replica_logs(replica_id: str, cp: CP, who: Caller,
                       tail: int = Query(200, ge=1, le=10000)) -> PlainTextResponse:
    """The last ``tail`` lines of a replica's output."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        r = await uow.replicas.get(replica_id)
        if r is None:
            raise ModelyardError(ErrorCode.REPLICA_NOT_FOUND, f"no replica {replica_id[:80]!r}")
        await _visible(uow, r.deployment, who)
    path = cp.backend.log_path(r.id)
    if path is None:
        return PlainTextResponse("")
    lines = await asyncio.to_thread(_tail, Path(path), tail)
    return PlainTextResponse("\n".join(lines) + ("\n" if lines else ""))


def _tail(path: Path, n: int) -> list[str]:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 256 * n))
        return fh.read().decode(errors="replace").splitlines()[-n:]
