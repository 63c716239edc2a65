"""Read what memory planning needs from a model folder, without loading any weights.

``config.json`` gives the architecture; safetensors headers (the first 8 bytes give the
header length, then JSON) or ``model.safetensors.index.json`` give exact parameter counts.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.scheduling.memory import (
    count_safetensors_parameters,
    parameters_from_index,
    parse_safetensors_header,
)

MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class ModelFiles:
    """The architecture and, when known, the exact parameter count."""

    config: dict[str, Any]
    parameter_count: int | None
    source: str


def _header(path: Path) -> dict[str, object]:
    with path.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ModelyardError(ErrorCode.INVALID_INPUT, f"{path.name} is not a safetensors file")
        (length,) = struct.unpack("<Q", raw)
        if length > MAX_HEADER_BYTES:
            raise ModelyardError(ErrorCode.INVALID_INPUT, f"{path.name}: header too large")
        return parse_safetensors_header(raw + fh.read(length))


def read_model_files(path: Path) -> ModelFiles:
    """Read ``config.json`` and count parameters from safetensors metadata if present."""
    folder = path.parent if path.is_file() else path
    config_path = path if path.is_file() else folder / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelyardError(ErrorCode.INVALID_INPUT,
                             f"no readable config.json at {config_path.name}: {exc}") from None
    if not isinstance(config, dict):
        raise ModelyardError(ErrorCode.INVALID_INPUT, "config.json is not an object")
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        count = parameters_from_index(json.loads(index.read_text()), config)
        return ModelFiles(config, count, "model.safetensors.index.json")
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        count = sum(count_safetensors_parameters(_header(p)) for p in shards)
        return ModelFiles(config, count, f"{len(shards)} safetensors header(s)")
    return ModelFiles(config, None, "config.json")
