"""Registry service: register versions, move aliases, resolve ``name@alias``; immutability.

Versions are numbered 1, 2, 3… per model and never change. A version that a deployment
serves cannot be deleted. Artifacts are stored by digest; the last version that
references a digest takes the stored bytes with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.domain import frameworks
from modelyard.domain.clock import Clock
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import check_name, check_tag_key
from modelyard.domain.models import Alias, Model, ModelVersion, Task
from modelyard.domain.tenancy import Principal
from modelyard.registry.artifacts import FOLDER_NAME, ArtifactStore, UploadArea

if TYPE_CHECKING:
    from modelyard.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class VersionRequest:
    """What a caller asks to register."""

    upload_id: str
    framework: str | None
    task: str
    filename: str
    tags: Mapping[str, str]
    description: str = ""
    input_schema: str | None = None
    output_schema: str | None = None


def _safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not base or base in {".", ".."} or len(base) > 200 or "\0" in base:
        raise ModelyardError(ErrorCode.INVALID_NAME, f"invalid artifact file name {name[:80]!r}")
    return base


def _detect(source: Path, artifact_name: str) -> str | None:
    if not source.is_dir():
        return frameworks.detect_framework([artifact_name])
    names = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
    top = {p.name for p in source.iterdir()}
    archs: list[str] = []
    if "config.json" in top:
        try:
            found = json.loads((source / "config.json").read_text()).get("architectures")
            archs = [str(a) for a in found or []]
        except (OSError, ValueError, AttributeError):
            archs = []
    return frameworks.detect_framework(names, archs, top)


class RegistryService:
    """Registry operations over a unit of work and an artifact store."""

    def __init__(self, artifacts: ArtifactStore, uploads: UploadArea, clock: Clock) -> None:
        self.artifacts = artifacts
        self.uploads = uploads
        self.clock = clock

    async def register(
        self, uow: UnitOfWork, name: str, req: VersionRequest, who: Principal
    ) -> ModelVersion:
        """Store the uploaded artifact and create the next version of ``name``."""
        check_name(name, "model name")
        for key in req.tags:
            check_tag_key(key)
        if req.task not in set(Task):
            raise ModelyardError(ErrorCode.INVALID_REQUEST, f"unknown task {req.task!r}")
        source = self.uploads.path(req.upload_id)
        is_dir = source.is_dir()
        artifact_name = FOLDER_NAME if is_dir else _safe_filename(req.filename)
        framework = req.framework or _detect(source, artifact_name)
        if framework is None:
            raise ModelyardError(ErrorCode.UNSUPPORTED_FRAMEWORK,
                                 "cannot detect the framework; pass --framework")
        frameworks.check_framework(framework)
        model = await uow.models.get(name)
        if model is not None and model.team != who.team and who.role != "admin":
            raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model {name!r}")
        now = self.clock.now()
        if model is None:
            await uow.models.add(Model(name, who.team, req.description, now, who.name))
        stored = self.artifacts.put(source, artifact_name)
        version = ModelVersion(
            model=name, version=await uow.models.next_version(name), digest=stored.digest,
            framework=framework, task=req.task, size_bytes=stored.size_bytes,
            artifact_name=artifact_name, created_at=now, created_by=who.name,
            tags=dict(req.tags), input_schema=req.input_schema, output_schema=req.output_schema,
        )
        await uow.models.add_version(version)
        self.uploads.discard(req.upload_id)
        return version

    async def model(self, uow: UnitOfWork, name: str) -> Model:
        """Return the model or raise ``model_not_found``."""
        model = await uow.models.get(name)
        if model is None:
            raise ModelyardError(ErrorCode.MODEL_NOT_FOUND, f"no model {name!r}")
        return model

    async def version(self, uow: UnitOfWork, name: str, version: int) -> ModelVersion:
        """Return one version or raise ``version_not_found``."""
        await self.model(uow, name)
        found = await uow.models.get_version(name, version)
        if found is None:
            raise ModelyardError(ErrorCode.VERSION_NOT_FOUND, f"model {name!r} has no version {version}")
        return found

    async def resolve(
        self, uow: UnitOfWork, name: str, version: int | None, alias: str | None
    ) -> ModelVersion:
        """Resolve ``name`` with a version number or an alias to a version."""
        if (version is None) == (alias is None):
            raise ModelyardError(ErrorCode.INVALID_REQUEST, "give exactly one of version and alias")
        if alias is not None:
            await self.model(uow, name)
            found = await uow.models.get_alias(name, alias)
            if found is None:
                raise ModelyardError(ErrorCode.ALIAS_NOT_FOUND, f"model {name!r} has no alias {alias!r}")
            version = found.version
        assert version is not None
        return await self.version(uow, name, version)

    async def set_alias(self, uow: UnitOfWork, name: str, alias: str, version: int) -> Alias:
        """Point ``alias`` at ``version`` of ``name``."""
        check_name(alias, "alias")
        await self.version(uow, name, version)
        result = Alias(name, alias, version)
        await uow.models.set_alias(result)
        return result

    async def delete_alias(self, uow: UnitOfWork, name: str, alias: str) -> None:
        """Remove an alias."""
        await self.model(uow, name)
        if await uow.models.get_alias(name, alias) is None:
            raise ModelyardError(ErrorCode.ALIAS_NOT_FOUND, f"model {name!r} has no alias {alias!r}")
        await uow.models.delete_alias(name, alias)

    async def delete_version(self, uow: UnitOfWork, name: str, version: int) -> None:
        """Delete a version nobody serves; drop its bytes if no version shares them."""
        found = await self.version(uow, name, version)
        users = await uow.deployments.uses_version(name, version)
        if users:
            raise ModelyardError(
                ErrorCode.VERSION_IN_USE,
                f"version {version} of {name!r} is deployed by: {', '.join(sorted(users))}",
                details={"deployments": sorted(users)},
            )
        await uow.models.delete_version(name, version)
        if not await uow.models.digest_in_use(found.digest):
            self.artifacts.remove(found.digest)

    async def delete_model(self, uow: UnitOfWork, name: str) -> None:
        """Delete a model and all its versions, unless one is deployed."""
        await self.model(uow, name)
        users = await uow.deployments.uses_model(name)
        if users:
            raise ModelyardError(
                ErrorCode.VERSION_IN_USE,
                f"model {name!r} is deployed by: {', '.join(sorted(users))}",
                details={"deployments": sorted(users)},
            )
        digests = {v.digest for v in await uow.models.versions(name)}
        await uow.models.delete(name)
        for digest in digests:
            if not await uow.models.digest_in_use(digest):
                self.artifacts.remove(digest)
