"""Typed identifiers and the naming rules for user-chosen names.

Names of models, deployments, aliases, teams and tags are DNS-label-like: lowercase
letters, digits and ``-``/``_``/``.``, starting with a letter or digit, at most 63
characters, never ``.`` or ``..``. That rule is what keeps names safe in paths and URLs.
"""

from __future__ import annotations

import re
import secrets
from typing import NewType

from modelyard.domain.errors import ErrorCode, ModelyardError

ReplicaId = NewType("ReplicaId", str)
DeploymentName = NewType("DeploymentName", str)
ModelName = NewType("ModelName", str)
TeamName = NewType("TeamName", str)
KeyId = NewType("KeyId", str)

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_TAG_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$")


def is_valid_name(name: str) -> bool:
    """Return True when ``name`` follows the naming rule."""
    return bool(_NAME_RE.fullmatch(name)) and ".." not in name


def check_name(name: str, kind: str = "name") -> str:
    """Return ``name`` unchanged, or raise ``invalid_name`` saying why it is refused."""
    if not is_valid_name(name):
        raise ModelyardError(
            ErrorCode.INVALID_NAME,
            f"invalid {kind} {name[:80]!r}: use 1-63 lowercase letters, digits, '-', '_' "
            "or '.', starting with a letter or digit",
            details={"kind": kind},
        )
    return name


def check_tag_key(key: str) -> str:
    """Return a tag key unchanged, or raise ``invalid_name``."""
    if not _TAG_KEY_RE.fullmatch(key):
        raise ModelyardError(ErrorCode.INVALID_NAME, f"invalid tag key {key[:80]!r}")
    return key


def new_replica_id(deployment: str) -> ReplicaId:
    """Return a fresh replica id such as ``iris-3f9c2a1b``."""
    return ReplicaId(f"{deployment}-{secrets.token_hex(4)}")
