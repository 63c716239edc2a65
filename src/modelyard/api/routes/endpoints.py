"""External deployments: create, list, delete deployments served by outside endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller
from modelyard.api.schemas.endpoints import ExternalDeploymentCreate, ExternalDeploymentPublic
from modelyard.domain.deployments import Environment
from modelyard.domain.endpoints import ExternalDeployment, check_endpoint_url, check_env_name
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import check_name

router = APIRouter(tags=["external deployments"])


def _public(cp: CP, ext: ExternalDeployment) -> ExternalDeploymentPublic:
    return ExternalDeploymentPublic.from_domain(ext, cp.external_health.get(ext.name, frozenset()))


@router.post("/external-deployments", status_code=201, response_model=ExternalDeploymentPublic)
async def create_external(body: ExternalDeploymentCreate, cp: CP, who: Caller,
                          audit: Audit) -> ExternalDeploymentPublic:
    """Serve NAME from endpoints modelyard did not start; they join the route table once healthy."""
    check_name(body.name, "deployment name")
    require(who, Action.DEPLOY, who.team, body.environment)
    urls = tuple(dict.fromkeys(check_endpoint_url(u) for u in body.endpoints))
    if body.health_path and not body.health_path.startswith("/"):
        raise ModelyardError(ErrorCode.INVALID_REQUEST, "health_path must start with '/'")
    ext = ExternalDeployment(body.name, who.team, str(body.environment), urls,
                             check_env_name(body.upstream_key_env), body.health_path,
                             cp.clock.now(), body.connect_timeout_s, body.read_timeout_s)
    async with cp.store.uow() as uow:
        if await uow.deployments.get(body.name) is not None:
            raise ModelyardError(ErrorCode.ALREADY_EXISTS, f"deployment {body.name!r} exists")
        await uow.external.add(ext)
        result = _public(cp, ext)
        await audit.record(uow, f"deployment/{ext.name}", ext.team,
                           after=result.model_dump(mode="json", exclude={"healthy_endpoints"}))
    cp.changed()
    return result


@router.get("/external-deployments", response_model=list[ExternalDeploymentPublic])
async def list_external(cp: CP, who: Caller) -> list[ExternalDeploymentPublic]:
    """Every external deployment the caller may see, with its healthy endpoints."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        return [_public(cp, e) for e in await uow.external.all() if is_visible(who, e.team)]


@router.delete("/external-deployments/{name}", response_model=ExternalDeploymentPublic)
async def delete_external(name: str, cp: CP, who: Caller, audit: Audit) -> ExternalDeploymentPublic:
    """Remove an external deployment from the route table."""
    async with cp.store.uow() as uow:
        ext = await uow.external.get(name)
        if ext is None or not is_visible(who, ext.team):
            raise ModelyardError(ErrorCode.DEPLOYMENT_NOT_FOUND, f"no deployment {name!r}")
        require(who, Action.DEPLOY, ext.team, Environment(ext.environment))
        result = _public(cp, ext)
        await uow.external.delete(name)
        await audit.record(uow, f"deployment/{name}", ext.team,
                           before=result.model_dump(mode="json", exclude={"healthy_endpoints"}))
    cp.changed()
    return result
