"""StopScanner over pieces of text."""

from __future__ import annotations

import pytest

from modelyard.runtimes.stops import StopScanner


@pytest.mark.parametrize(("stops", "pieces", "shown", "stopped"), [
    ([], ["a", "b"], "ab", False),
    (["END"], ["hello E", "N", "D more"], "hello ", True),
    (["END"], ["hello E", "x"], "hello Ex", False),
    (["\n\n", "###"], ["one\n", "\ntwo"], "one", True),
    (["ab"], ["xa"], "xa", False),  # the held "a" is released by flush
    (["stop"], ["nonstop"], "non", True),
])
def test_scanner(stops: list[str], pieces: list[str], shown: str, stopped: bool) -> None:
    scanner = StopScanner(stops)
    text = "".join(scanner.push(p) for p in pieces) + scanner.flush()
    assert text == shown and scanner.stopped is stopped


def test_nothing_after_a_stop() -> None:
    scanner = StopScanner(["x"])
    assert scanner.push("ax") == "a"
    assert scanner.push("more") == "" and scanner.flush() == ""
