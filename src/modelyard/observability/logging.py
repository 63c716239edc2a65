"""Logging: JSON lines with structured fields, and a filter that redacts API keys."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_KEY_RE = re.compile(r"my_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)\S+")
_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """Replace anything that looks like an API key or a bearer token."""
    return _BEARER_RE.sub(r"\1[redacted]", _KEY_RE.sub("[redacted]", text))


class RedactFilter(logging.Filter):
    """Redacts keys in the message and in extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact and keep the record."""
        record.msg = redact(str(record.msg))
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        for k, v in list(vars(record).items()):
            if k not in _STD and isinstance(v, str):
                setattr(record, k, redact(v))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one JSON line."""
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STD})
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    """Configure the root logger once for a modelyard process."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
