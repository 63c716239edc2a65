"""Token counts of OpenAI answers, whole or streamed (pure; fed by the metering hook).

A whole answer carries ``usage``. A streamed one carries it in its last chunk when the
client asked for ``stream_options.include_usage``; otherwise every chunk with content
(``delta.content`` or ``text``) counts as one completion token, as the built-in runtimes
and the engines stream one token per chunk.
"""

from __future__ import annotations

from typing import Any

import orjson


def _usage(obj: Any) -> tuple[int, int] | None:
    usage = obj.get("usage") if isinstance(obj, dict) else None
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens", 0)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return prompt, completion


def _has_content(obj: Any) -> bool:
    choices = obj.get("choices") if isinstance(obj, dict) else None
    if not isinstance(choices, list):
        return False
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict) and delta.get("content"):
            return True
        if choice.get("text"):
            return True
    return False


class StreamCounter:
    """Counts tokens of a server-sent event stream, chunk by chunk as it passes."""

    def __init__(self) -> None:
        self._pending = b""
        self.content_chunks = 0
        self.reported: tuple[int, int] | None = None

    def feed(self, chunk: bytes) -> None:
        """Take the next bytes of the stream (events may span chunks)."""
        data = self._pending + chunk
        *events, self._pending = data.split(b"\n\n")
        for event in events:
            self._event(event)

    def _event(self, event: bytes) -> None:
        for line in event.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if not payload or payload == b"[DONE]":
                continue
            try:
                obj = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            usage = _usage(obj)
            if usage is not None:
                self.reported = usage
            if _has_content(obj):
                self.content_chunks += 1

    def totals(self) -> tuple[int, int]:
        """``(prompt, completion)``: the reported usage, else (0, content chunks)."""
        if self._pending:
            self._event(self._pending)
            self._pending = b""
        return self.reported if self.reported is not None else (0, self.content_chunks)
