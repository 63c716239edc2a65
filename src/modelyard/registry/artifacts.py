"""ArtifactStore protocol and LocalArtifactStore: a content-addressed folder.

An artifact lives at ``<root>/sha256/<hex>/<name>`` where ``<name>`` is the uploaded
file's name (or ``model`` for a folder). Puts are atomic (rename of a finished folder),
so a reader never sees half an artifact; the same content is stored once.
"""

from __future__ import annotations

import shutil
import tarfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.registry.digests import digest_path, iter_files, verify_path

FOLDER_NAME = "model"


@dataclass(frozen=True)
class StoredArtifact:
    """Where an artifact landed and what it is."""

    digest: str
    name: str
    size_bytes: int
    path: Path


class ArtifactStore(Protocol):
    """Content-addressed artifact storage."""

    def put(self, source: Path, name: str) -> StoredArtifact:
        """Store ``source`` (file or folder) under its digest; idempotent."""
        ...

    def path(self, digest: str, name: str) -> Path:
        """Return the local path of a stored artifact."""
        ...

    def verify(self, digest: str, name: str) -> Path:
        """Return the path after checking the digest, or raise ``artifact_corrupt``."""
        ...

    def remove(self, digest: str) -> None:
        """Delete a stored artifact."""
        ...


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for _, p in iter_files(path))


class LocalArtifactStore:
    """Artifacts in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def _dir(self, digest: str) -> Path:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or not all(c in "0123456789abcdef" for c in hexd):
            raise ModelyardError(ErrorCode.INVALID_INPUT, "malformed digest")
        return self.root / "sha256" / hexd

    def put(self, source: Path, name: str) -> StoredArtifact:
        """Copy ``source`` into the store under its digest."""
        digest = digest_path(source)
        final = self._dir(digest)
        if not final.exists():
            staging = self.root / "tmp" / uuid.uuid4().hex
            staging.mkdir()
            if source.is_dir():
                shutil.copytree(source, staging / name)
            else:
                shutil.copy2(source, staging / name)
            staging.rename(final)
        stored = final / name
        if not stored.exists():  # same bytes uploaded earlier under another file name
            if source.is_dir():
                shutil.copytree(source, stored)
            else:
                shutil.copy2(source, stored)
        return StoredArtifact(digest, name, _size(stored), stored)

    def path(self, digest: str, name: str) -> Path:
        """Return the local path of the stored artifact."""
        return self._dir(digest) / name

    def verify(self, digest: str, name: str) -> Path:
        """Return the path once its content matches ``digest``."""
        path = self.path(digest, name)
        if not path.exists():
            raise ModelyardError(ErrorCode.ARTIFACT_CORRUPT, f"artifact {digest} is missing")
        verify_path(path, digest)
        return path

    def remove(self, digest: str) -> None:
        """Delete the stored artifact (all its names)."""
        shutil.rmtree(self._dir(digest), ignore_errors=True)


class UploadArea:
    """Receives artifact uploads into a scratch folder before they are registered."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    async def receive(self, chunks: AsyncIterator[bytes], *, is_tar: bool, limit_bytes: int) -> str:
        """Write ``chunks`` to a new upload; unpack it when it is a tar. Return its id."""
        upload_id = uuid.uuid4().hex
        part = self.root / f"{upload_id}.part"
        size = 0
        try:
            with part.open("wb") as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit_bytes:
                        raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE,
                                             f"upload over {limit_bytes} bytes")
                    fh.write(chunk)
            if size == 0:
                raise ModelyardError(ErrorCode.INVALID_REQUEST, "the upload is empty")
            target = self.root / upload_id
            if is_tar:
                _safe_extract(part, target)
            else:
                target.mkdir()
                part.rename(target / "artifact")
        finally:
            part.unlink(missing_ok=True)
        return upload_id

    def path(self, upload_id: str) -> Path:
        """Return the uploaded file or folder."""
        if not upload_id.isalnum() or len(upload_id) != 32:
            raise ModelyardError(ErrorCode.UPLOAD_NOT_FOUND, "no such upload")
        folder = self.root / upload_id
        if not folder.is_dir():
            raise ModelyardError(ErrorCode.UPLOAD_NOT_FOUND, "no such upload")
        single = folder / "artifact"
        return single if single.is_file() else folder

    def discard(self, upload_id: str) -> None:
        """Delete an upload."""
        shutil.rmtree(self.root / upload_id, ignore_errors=True)


def _safe_extract(archive: Path, target: Path) -> None:
    """Unpack regular files and folders only, refusing links and paths that escape."""
    target.mkdir()
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for m in members:
                if not (m.isfile() or m.isdir()):
                    raise ModelyardError(ErrorCode.INVALID_INPUT,
                                         f"archive member {m.name[:80]!r} is not a file or folder")
                if m.name.startswith("/") or ".." in Path(m.name).parts:
                    raise ModelyardError(ErrorCode.INVALID_INPUT,
                                         f"archive member {m.name[:80]!r} escapes the folder")
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise ModelyardError(ErrorCode.INVALID_INPUT, f"not a valid tar archive: {exc}") from None
    except ModelyardError:
        shutil.rmtree(target, ignore_errors=True)
        raise
