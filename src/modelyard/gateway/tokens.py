"""Pure: LLM token counts from OpenAI answers (whole bodies and streamed chunks).

Tokens are ``usage.prompt_tokens`` + ``usage.completion_tokens`` (embeddings have only
prompt tokens). A stream carries ``usage`` in its final data chunk (when the client asked
with ``stream_options.include_usage`` or the engine always sends it); ``StreamTally``
keeps the stream's tail, so nothing is parsed until the end.
"""

from __future__ import annotations

import orjson


def usage_of(body: bytes) -> tuple[int, int]:
    """``(prompt_tokens, completion_tokens)`` from a JSON answer; zeros when absent.

    Runs on every answer: the ``usage`` object (flat, and last in the answers of the
    built-in runtimes and the engines) is parsed alone, so an embedding's hundreds of
    floats are never turned into objects; anything else falls back to the whole body.
    """
    key = body.rfind(b'"usage"')
    if key < 0:
        return 0, 0
    start = body.find(b"{", key + 7)
    end = body.find(b"}", start + 1) if start >= 0 else -1
    usage: object = None
    if end > 0 and body.find(b"{", start + 1, end) < 0 and not body[key + 7:start].strip(b" \t\r\n:"):
        try:
            usage = orjson.loads(body[start:end + 1])
        except orjson.JSONDecodeError:
            usage = None
    if not isinstance(usage, dict):
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
