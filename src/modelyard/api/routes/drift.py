"""Drift routes: gateways post samples; reference data per model version; the latest report.

``POST /drift/samples`` is telemetry from separate gateways (admin keys, not audited).
``PUT /models/{name}/versions/{version}/reference`` registers a model version's reference
rows (what ``models register --reference data.csv`` sends), replacing one taken from
traffic. ``GET /deployments/{name}/drift`` is what ``modelyard drift show`` prints.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, is_visible, require
from modelyard.api.deps import CP, Caller
from modelyard.api.routes.deployments import _visible
from modelyard.domain.drift import MAX_REFERENCE_ROWS, DriftSample, Reference
from modelyard.domain.errors import ErrorCode, ModelyardError

router = APIRouter(tags=["drift"])


class SampleBatch(BaseModel):
    """A batch of drift samples from a gateway."""

    samples: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)


class ReferenceSet(BaseModel):
    """Reference rows of a model version, one value per column."""

    columns: list[str] = Field(min_length=1, max_length=512)
    rows: list[list[float]] = Field(min_length=1, max_length=MAX_REFERENCE_ROWS)
    predictions: list[float] = Field(default_factory=list, max_length=MAX_REFERENCE_ROWS)


@router.post("/drift/samples", status_code=202)
async def report_samples(body: SampleBatch, cp: CP, who: Caller) -> dict[str, int]:
    """Store a batch of drift samples from a gateway running alone."""
    require(who, Action.ADMIN)
    try:
        samples = [DriftSample.from_json(s) for s in body.samples]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, f"bad drift sample: {exc}") from None
    async with cp.store.uow() as uow:
        await uow.drift.add_samples(samples)
    return {"accepted": len(samples)}


@router.put("/models/{name}/versions/{version}/reference")
async def set_reference(name: str, version: int, body: ReferenceSet, cp: CP, who: Caller,
                        audit: Audit) -> dict[str, Any]:
    """Register the reference data drift is judged against."""
    async with cp.store.uow() as uow:
        model = await cp.registry.model(uow, name)
        if not is_visible(who, model.team):
            raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model {name!r}")
        require(who, Action.WRITE_MODEL, model.team)
        await cp.registry.version(uow, name, version)
        ref = Reference(name, version, tuple(body.columns), tuple(tuple(r) for r in body.rows),
                        "upload", cp.clock.now(), tuple(body.predictions))
        await uow.drift.set_reference(ref)
        result = {"model": name, "version": version, "columns": list(ref.columns),
                  "rows": len(ref.rows), "source": ref.source}
        await audit.record(uow, f"model/{name}/versions/{version}/reference", model.team,
                           after=result)
    return result


@router.get("/deployments/{name}/drift")
async def deployment_drift(name: str, cp: CP, who: Caller) -> dict[str, Any]:
    """The latest drift report of a deployment: per feature PSI, KS, p-value, drifted."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        await _visible(uow, name, who)
        found = await uow.drift.report(name)
        samples = await uow.drift.count(name)
    if found is None:
        return {"deployment": name, "state": "no_samples" if not samples else "pending",
                "drifted": False, "samples": samples, "window": 0, "reference": None,
                "features": []}
    at, drifted, report = found
    return {"deployment": name, "at": at.isoformat(), "drifted": drifted, "samples": samples,
            **report}
