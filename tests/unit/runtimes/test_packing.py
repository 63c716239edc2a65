"""Sequence packing: every text once, rows within capacity, fewer token slots than padding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelyard.runtimes.packing import pack, padded_tokens


@given(st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=80),
       st.integers(min_value=1, max_value=256))
def test_every_text_once_and_rows_within_capacity(lengths: list[int], capacity: int) -> None:
    rows = pack(lengths, capacity)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    for row in rows:
        total = sum(lengths[i] for i in row)
        assert total <= capacity or len(row) == 1  # an over-long text sits alone
    # never more token slots than padding every text to the longest
    assert padded_tokens(lengths, rows) <= len(lengths) * max(lengths) or capacity < max(lengths)


def test_short_texts_share_rows_longest_first() -> None:
    lengths = [12, 20, 16, 14, 18, 12]
    rows = pack(lengths, 32)
    assert rows == [[1, 0], [4, 3], [2, 5]]  # 32, 32 and 28 tokens
    assert padded_tokens(lengths, rows) == 96  # padding to the longest: 6 x 20 = 120
    assert padded_tokens(lengths, []) == 0
