"""Pure: LLM token counts from OpenAI answers (whole bodies and streamed chunks).

Tokens are ``usage.prompt_tokens`` + ``usage.completion_tokens`` (embeddings have only
prompt tokens). A stream carries ``usage`` in its final data chunk (when the client asked
with ``stream_options.include_usage`` or the engine always sends it); ``StreamTally``
keeps the stream's tail, so nothing is parsed until the end.
"""

from __future__ import annotations

import orjson


def usage_of(body: bytes) -> tuple[int, int]:
    """``(prompt_tokens, completion_tokens)`` from a JSON answer; zeros when absent."""
    if b'"usage"' not in body:
        return 0, 0
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 0, 0
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    p, c = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return (p if isinstance(p, int) else 0), (c if isinstance(c, int) else 0)


class StreamTally:
    """Keeps the last ``keep_bytes`` of a server-sent-event stream, where usage arrives."""

    def __init__(self, keep_bytes: int = 8192) -> None:
        self.keep_bytes = keep_bytes
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        """See one chunk as it passes through."""
        self._tail = (self._tail + chunk)[-self.keep_bytes:]

    def usage(self) -> tuple[int, int]:
        """Tokens reported by the stream's last usage chunk."""
        if b'"usage"' not in self._tail:
            return 0, 0
        best = (0, 0)
        for line in self._tail.split(b"\n"):
            line = line.strip()
            if line.startswith(b"data:") and b'"usage"' in line:
                found = usage_of(line[5:].strip())
                if found != (0, 0):
                    best = found
        return best
