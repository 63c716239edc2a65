"""Stop strings over streamed text.

``StopScanner`` sees text in pieces and releases only what can no longer turn into a
stop string, so a streamed completion never shows part of one. Pure; no tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopScanner:
    """Holds back text that might begin a stop string; reports when one is found."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.stopped = False

    def push(self, text: str) -> str:
        """Add ``text``; return what is safe to emit. After a stop, always ``""``."""
        if self.stopped:
            return ""
        buf = self._held + text
        cut = min((i for i in (buf.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._held = ""
            return buf[:cut]
        keep = self._longest_partial(buf)
        self._held = buf[len(buf) - keep:] if keep else ""
        return buf[: len(buf) - keep]

    def flush(self) -> str:
        """Release the held text at the end of a generation."""
        out, self._held = ("" if self.stopped else self._held), ""
        return out

    def _longest_partial(self, buf: str) -> int:
        """Length of the longest suffix of ``buf`` that is a proper prefix of a stop."""
        best = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(buf)), best, -1):
                if buf.endswith(stop[:n]):
                    best = n
                    break
        return best
