"""Digests of files and folders; the content-addressed store; safe uploads."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.registry.artifacts import LocalArtifactStore, UploadArea
from modelyard.registry.digests import digest_path, manifest_digest, verify_path


def test_file_digest_is_sha256(tmp_path: Path) -> None:
    f = tmp_path / "m.bin"
    f.write_bytes(b"hello" * 1000)
    assert digest_path(f) == "sha256:" + hashlib.sha256(b"hello" * 1000).hexdigest()


def test_folder_digest_covers_names_and_bytes(tmp_path: Path) -> None:
    d = tmp_path / "m"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("a")
    (d / "sub" / "b.txt").write_text("b")
    first = digest_path(d)
    assert first == "sha256:" + manifest_digest([
        ("a.txt", hashlib.sha256(b"a").hexdigest()), ("sub/b.txt", hashlib.sha256(b"b").hexdigest())])
    (d / "sub" / "b.txt").write_text("B")
    assert digest_path(d) != first
    (d / "sub" / "b.txt").write_text("b")
    (d / "sub" / "b.txt").rename(d / "sub" / "c.txt")
    assert digest_path(d) != first


def test_symlinks_refused(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "link").symlink_to("/etc/passwd")
    with pytest.raises(ModelyardError):
        digest_path(d)


def test_store_put_verify_tamper(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    src = tmp_path / "model.joblib"
    src.write_bytes(b"model-bytes")
    stored = store.put(src, "model.joblib")
    assert stored.size_bytes == 11
    assert store.put(src, "model.joblib") == stored
    assert store.verify(stored.digest, "model.joblib") == stored.path
    stored.path.write_bytes(b"evil-bytes!")
    with pytest.raises(ModelyardError) as info:
        store.verify(stored.digest, "model.joblib")
    assert info.value.code == ErrorCode.ARTIFACT_CORRUPT
    verify_path(src, stored.digest)


def test_malformed_digest_refused(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    for bad in ["md5:abc", "sha256:../../etc", "sha256:" + "g" * 64]:
        with pytest.raises(ModelyardError):
            store.path(bad, "x")


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 7):
        yield data[i:i + 7]


def _tar(members: dict[str, bytes], link: str | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("evil")
            info.type = tarfile.SYMTYPE
            info.linkname = link
            tar.addfile(info)
    return buf.getvalue()


async def test_upload_file_and_folder(tmp_path: Path) -> None:
    area = UploadArea(tmp_path)
    uid = await area.receive(_chunks(b"abc"), is_tar=False, limit_bytes=100)
    assert area.path(uid).read_bytes() == b"abc"
    uid = await area.receive(_chunks(_tar({"a/b.txt": b"x"})), is_tar=True, limit_bytes=10**6)
    assert (area.path(uid) / "a" / "b.txt").read_bytes() == b"x"


@pytest.mark.parametrize(("members", "link"), [
    ({"../escape.txt": b"x"}, None),
    ({"/abs.txt": b"x"}, None),
    ({"ok.txt": b"x"}, "/etc/passwd"),
])
async def test_upload_refuses_escapes(tmp_path: Path, members: dict[str, bytes],
                                      link: str | None) -> None:
    area = UploadArea(tmp_path / "u")
    with pytest.raises(ModelyardError) as info:
        await area.receive(_chunks(_tar(members, link)), is_tar=True, limit_bytes=10**6)
    assert info.value.code == ErrorCode.INVALID_INPUT
    assert not (tmp_path / "escape.txt").exists()


async def test_upload_limits(tmp_path: Path) -> None:
    area = UploadArea(tmp_path)
    with pytest.raises(ModelyardError) as info:
        await area.receive(_chunks(b"x" * 101), is_tar=False, limit_bytes=100)
    assert info.value.code == ErrorCode.PAYLOAD_TOO_LARGE
    with pytest.raises(ModelyardError) as info:
        await area.receive(_chunks(b""), is_tar=False, limit_bytes=100)
    assert info.value.code == ErrorCode.INVALID_REQUEST
    for bad in ["../x", "0" * 31, "z" * 32]:
        with pytest.raises(ModelyardError):
            area.path(bad)
