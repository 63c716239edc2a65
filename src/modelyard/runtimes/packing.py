"""Sequence packing: several short texts share one row of a batch instead of being padded.

A batch of texts of random lengths, padded to its longest, spends a quarter or more of
an encoder's work on padding. Packing places whole texts one after another in rows of a
fixed token capacity (first fit, longest first); the model then sees each text alone
through a block-diagonal attention mask and positions that restart at every text, so the
vectors are those of the padded batch. Pure: lengths in, rows of text indices out.
"""

from __future__ import annotations

from collections.abc import Sequence


def pack(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Rows of text indices whose lengths add up to at most ``capacity`` each.

    A text longer than ``capacity`` gets a row of its own. First fit over the texts sorted
    longest first; indices keep that order within a row. When the packed rows would take
    more token slots than one text per row padded to the longest (a few long texts, rows
    left half empty), it returns one text per row: packing never costs more than padding.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    rows: list[list[int]] = []
    free: list[int] = []
    for i in order:
        n = lengths[i]
        for r, room in enumerate(free):
            if n <= room:
                rows[r].append(i)
                free[r] -= n
                break
        else:
            rows.append([i])
            free.append(max(0, capacity - n))
    if padded_tokens(lengths, rows) > len(lengths) * max(lengths, default=0):
        return [[i] for i in order]
    return rows


def padded_tokens(lengths: Sequence[int], rows: Sequence[Sequence[int]]) -> int:
    """Token slots the packed batch takes (rows × the longest row)."""
    if not rows:
        return 0
    return len(rows) * max(sum(lengths[i] for i in row) for row in rows)
