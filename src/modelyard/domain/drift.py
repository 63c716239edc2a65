"""Drift samples and reference data: what the gateway samples and what drift is judged against.

A ``DriftSample`` is one row of a tabular (OIP v2) request with the model's prediction
for it. A ``Reference`` is the baseline of one model version: registered from a CSV
(``models register --reference``) or taken from the first window of traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelyard.domain.errors import ErrorCode, ModelyardError

MAX_REFERENCE_ROWS = 20_000


@dataclass(frozen=True)
class DriftSample:
    """One sampled input row and its prediction."""

    time: datetime
    deployment: str
    revision: int | None
    features: tuple[float, ...]
    prediction: float | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (gateway → server)."""
        return {"time": self.time.isoformat(), "deployment": self.deployment,
                "revision": self.revision, "features": list(self.features),
                "prediction": self.prediction}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DriftSample:
        """Parse the form written by ``to_json``."""
        pred = d.get("prediction")
        return cls(datetime.fromisoformat(d["time"]), str(d["deployment"]), d.get("revision"),
                   tuple(float(x) for x in d["features"]),
                   None if pred is None else float(pred))


@dataclass(frozen=True)
class Reference:
    """Baseline rows of one model version, with column names."""

    model: str
    version: int
    columns: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]
    source: str  # "upload" or "traffic"
    created_at: datetime
    predictions: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.rows or len(self.rows) > MAX_REFERENCE_ROWS:
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 f"a reference needs 1 to {MAX_REFERENCE_ROWS} rows")
        if any(len(r) != len(self.columns) for r in self.rows):
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 "every reference row needs one value per column")


def default_columns(width: int) -> tuple[str, ...]:
    """Column names of unnamed features (x0, x1 and so on)."""
    return tuple(f"x{i}" for i in range(width))
