"""Model registry routes: uploads, versions, aliases."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller
from modelyard.api.schemas.models import (
    AliasPublic,
    AliasUpdate,
    ModelPublic,
    UploadPublic,
    VersionCreate,
    VersionPublic,
)
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.models import Model
from modelyard.registry.service import VersionRequest
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["models"])
TAR_TYPES = {"application/x-tar", "application/tar"}
VersionNumber = Path(ge=1, le=2**31 - 1)


async def _visible_model(cp: CP, uow: UnitOfWork, name: str, who: Caller) -> Model:
    model = await cp.registry.model(uow, name)
    if not is_visible(who, model.team):
        raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model {name!r}")
    return model


@router.post("/uploads", status_code=201, response_model=UploadPublic,
             openapi_extra={"requestBody": {"content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                 "application/x-tar": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload(request: Request, cp: CP, who: Caller, audit: Audit) -> UploadPublic:
    """Receive an artifact: a single file, or a folder as a tar stream."""
    require(who, Action.WRITE_MODEL)
    is_tar = request.headers.get("content-type", "").split(";")[0].strip() in TAR_TYPES
    upload_id = await cp.uploads.receive(request.stream(), is_tar=is_tar,
                                         limit_bytes=cp.max_upload_bytes)
    async with cp.store.uow() as uow:
        await audit.record(uow, f"upload/{upload_id}", who.team)
    return UploadPublic(upload_id=upload_id)


@router.post("/models/{name}/versions", status_code=201, response_model=VersionPublic)
async def register_version(name: str, body: VersionCreate, cp: CP, who: Caller,
                           audit: Audit) -> VersionPublic:
    """Register the next immutable version of ``name`` from an upload."""
    require(who, Action.WRITE_MODEL)
    req = VersionRequest(body.upload_id, body.framework, body.task, body.filename, body.tags,
                         body.description, body.input_schema, body.output_schema)
    async with cp.store.uow() as uow:
        version = await cp.registry.register(uow, name, req, who)
        result = VersionPublic.from_domain(version)
        model = await cp.registry.model(uow, name)
        await audit.record(uow, f"model/{name}/{version.version}", model.team,
                           after=result.model_dump(mode="json"))
    return result


@router.get("/models", response_model=list[ModelPublic])
async def list_models(cp: CP, who: Caller) -> list[ModelPublic]:
    """Every model the caller may see."""
    require(who, Action.READ)
    out = []
    async with cp.store.uow() as uow:
        for m in await uow.models.all():
            if is_visible(who, m.team):
                aliases = {a.name: a.version for a in await uow.models.aliases(m.name)}
                out.append(ModelPublic.from_domain(m, await uow.models.versions(m.name), aliases))
    return out


@router.get("/models/{name}", response_model=ModelPublic)
async def get_model(name: str, cp: CP, who: Caller) -> ModelPublic:
    """One model with versions and aliases."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        m = await _visible_model(cp, uow, name, who)
        aliases = {a.name: a.version for a in await uow.models.aliases(name)}
        return ModelPublic.from_domain(m, await uow.models.versions(name), aliases)


@router.get("/models/{name}/versions/{version}", response_model=VersionPublic)
async def get_version(name: str, cp: CP, who: Caller,
                      version: int = VersionNumber) -> VersionPublic:
    """One version."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible_model(cp, uow, name, who)
        return VersionPublic.from_domain(await cp.registry.version(uow, name, version))


@router.delete("/models/{name}/versions/{version}", status_code=204)
async def delete_version(name: str, cp: CP, who: Caller, audit: Audit,
                         version: int = VersionNumber) -> Response:
    """Delete a version that no deployment serves."""
    async with cp.store.uow() as uow:
        m = await _visible_model(cp, uow, name, who)
        require(who, Action.WRITE_MODEL, m.team)
        before = VersionPublic.from_domain(await cp.registry.version(uow, name, version))
        await cp.registry.delete_version(uow, name, version)
        await audit.record(uow, f"model/{name}/{version}", m.team,
                           before=before.model_dump(mode="json"))
    return Response(status_code=204)


@router.delete("/models/{name}", status_code=204)
async def delete_model(name: str, cp: CP, who: Caller, audit: Audit) -> Response:
    """Delete a model and its versions, unless one is deployed."""
    async with cp.store.uow() as uow:
        m = await _visible_model(cp, uow, name, who)
        require(who, Action.WRITE_MODEL, m.team)
        await cp.registry.delete_model(uow, name)
        await audit.record(uow, f"model/{name}", m.team, before={"model": name, "team": m.team})
    return Response(status_code=204)


@router.put("/models/{name}/aliases/{alias}", response_model=AliasPublic)
async def set_alias(name: str, alias: str, body: AliasUpdate, cp: CP, who: Caller,
                    audit: Audit) -> AliasPublic:
    """Create or move an alias."""
    async with cp.store.uow() as uow:
        m = await _visible_model(cp, uow, name, who)
        require(who, Action.WRITE_MODEL, m.team)
        before = {a.name: a.version for a in await uow.models.aliases(name)}.get(alias)
        result = await cp.registry.set_alias(uow, name, alias, body.version)
        public = AliasPublic(model=result.model, alias=result.name, version=result.version)
        await audit.record(uow, f"model/{name}/aliases/{alias}", m.team,
                           before=None if before is None else {"version": before},
                           after={"version": result.version})
    cp.changed()
    return public


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
async def delete_alias(name: str, alias: str, cp: CP, who: Caller, audit: Audit) -> Response:
    """Remove an alias."""
    async with cp.store.uow() as uow:
        m = await _visible_model(cp, uow, name, who)
        require(who, Action.WRITE_MODEL, m.team)
        await cp.registry.delete_alias(uow, name, alias)
        await audit.record(uow, f"model/{name}/aliases/{alias}", m.team)
    return Response(status_code=204)
