r"""Content digests of artifacts: sha256 over a file, or over a manifest of a folder.

A file's digest is ``sha256:<hex of its bytes>``. A folder's digest is the sha256 of its
manifest: one ``<relative posix path>\\0<sha256 hex>\\n`` line per regular file, sorted by
path. Symbolic links and special files are refused, so a digest always covers every byte
that a loader can read. The hashing is pure over chunks; the file walk is the only I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from modelyard.domain.errors import ErrorCode, ModelyardError

CHUNK_BYTES = 1 << 20
PREFIX = "sha256:"


def digest_chunks(chunks: Iterable[bytes]) -> str:
    """Return the hex sha256 of the concatenated ``chunks``."""
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def manifest_digest(entries: Iterable[tuple[str, str]]) -> str:
    """Return the hex digest of a folder manifest given ``(relpath, file hex)`` pairs."""
    lines = (f"{rel}\0{hexd}\n".encode() for rel, hexd in sorted(entries))
    return digest_chunks(lines)


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            yield chunk


def iter_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(relative posix path, path)`` for every regular file under ``root``."""
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise ModelyardError(
                ErrorCode.INVALID_INPUT, f"artifact contains a symbolic link: {path.name}"
            )
        if path.is_file():
            yield path.relative_to(root).as_posix(), path
        elif not path.is_dir():
            raise ModelyardError(
                ErrorCode.INVALID_INPUT, f"artifact contains a special file: {path.name}"
            )


def digest_path(path: Path) -> str:
    """Return ``sha256:<hex>`` of a file or a folder (see the module docstring)."""
    if path.is_symlink():
        raise ModelyardError(ErrorCode.INVALID_INPUT, "artifact is a symbolic link")
    if path.is_file():
        return PREFIX + digest_chunks(_read_chunks(path))
    if path.is_dir():
        entries = [(rel, digest_chunks(_read_chunks(p))) for rel, p in iter_files(path)]
        return PREFIX + manifest_digest(entries)
    raise ModelyardError(ErrorCode.INVALID_INPUT, f"no file or folder at {path.name!r}")


def verify_path(path: Path, expected: str) -> None:
    """Raise ``artifact_corrupt`` unless ``path`` has the digest ``expected``."""
    actual = digest_path(path)
    if actual != expected:
        raise ModelyardError(
            ErrorCode.ARTIFACT_CORRUPT,
            f"artifact digest mismatch: expected {expected}, found {actual}; "
            "the stored artifact was modified and will not be loaded",
            details={"expected": expected, "actual": actual},
        )
