"""Team GPU quota routes: set, list, delete (per team and GPU model)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import check_name
from modelyard.domain.quotas import GPU_MILLI, Quota

router = APIRouter(tags=["quotas"])


class QuotaUpdate(BaseModel):
    """Guaranteed and borrowable GPUs (fractions allowed: 0.5 = half a GPU)."""

    model_config = ConfigDict(extra="forbid")
    guaranteed: float = Field(ge=0, le=100_000)
    borrow: float = Field(default=0, ge=0, le=100_000)


class QuotaPublic(BaseModel):
    """A team's quota for one GPU model, in GPUs."""

    team: str
    gpu_model: str
    guaranteed: float
    borrow: float


def _public(q: Quota) -> QuotaPublic:
    return QuotaPublic(team=q.team, gpu_model=q.gpu_model,
                       guaranteed=q.guaranteed_milli / GPU_MILLI,
                       borrow=q.borrow_limit_milli / GPU_MILLI)


@router.get("/quotas", response_model=list[QuotaPublic])
async def list_quotas(cp: CP, who: Caller) -> list[QuotaPublic]:
    """The quotas of the caller's team (every team's for admins)."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        return [_public(q) for q in await uow.quotas.all() if is_visible(who, q.team)]


@router.put("/quotas/{team}/{gpu_model}", response_model=QuotaPublic)
async def set_quota(team: str, gpu_model: str, body: QuotaUpdate, cp: CP, who: Caller,
                    audit: Audit) -> QuotaPublic:
    """Set a team's guaranteed and borrowable GPUs of one model."""
    require(who, Action.ADMIN)
    check_name(team, "team")
    if not gpu_model or len(gpu_model) > 32 or not gpu_model.replace("-", "").replace(
            ".", "").isalnum():
        raise ModelyardError(ErrorCode.INVALID_NAME, f"invalid GPU model {gpu_model[:40]!r}")
    quota = Quota.of_gpus(team, gpu_model, body.guaranteed, body.borrow)
    async with cp.store.uow() as uow:
        await uow.quotas.put(quota)
        await audit.record(uow, f"quota/{team}/{gpu_model}", team,
                           after=_public(quota).model_dump())
    cp.changed()
    return _public(quota)


@router.delete("/quotas/{team}/{gpu_model}", status_code=204)
async def delete_quota(team: str, gpu_model: str, cp: CP, who: Caller, audit: Audit) -> Response:
    """Remove a quota."""
    require(who, Action.ADMIN)
    async with cp.store.uow() as uow:
        await uow.quotas.delete(team, gpu_model)
        await audit.record(uow, f"quota/{team}/{gpu_model}", team, before={"team": team})
    cp.changed()
    return Response(status_code=204)
