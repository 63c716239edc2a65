"""Reconciler protocol and Result: a controller does the next idempotent step per key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Result:
    """Outcome of one reconcile; ``requeue_after_s`` asks for an earlier visit."""

    requeue_after_s: float | None = None

    @classmethod
    def done(cls) -> Result:
        """Nothing more to do until the next change or resync."""
        return cls()


class Reconciler(Protocol):
    """A level-triggered controller."""

    name: str

    async def keys(self) -> Sequence[str]:
        """Every key this controller looks after (the resync set)."""
        ...

    async def reconcile(self, key: str) -> Result:
        """Read desired and observed state of ``key`` and do the next step."""
        ...
