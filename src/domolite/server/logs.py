"""The server's log: one line per record, whatever a request put in it.

Request fields (paths, methods, names, e-mails, error messages quoting input) can hold CR, LF and other control
characters, raw or URL-encoded; written as they are they would forge log lines. The access log escapes its fields
(`escape`: `\\r`, `\\n`, `\\xNN`, and a backslash as `\\\\` so the escapes are unambiguous), and the formatter
escapes the control characters of every record whole, so a record, a traceback included, is always one line.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_ESCAPES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _escape_char(ch: str, backslash: bool) -> str:
    if ch == "\\" and not backslash:
        return ch
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or ch in "\u2028\u2029":
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def escape(text: object, *, backslash: bool = True) -> str:
    """`text` with control characters (and, unless told not to, backslashes) escaped: one line."""
    value = str(text)
    if value.isprintable() and (not backslash or "\\" not in value):
        return value
    return "".join(_escape_char(ch, backslash) for ch in value)


class OneLineFormatter(logging.Formatter):
    """Formats as usual, then escapes the control characters of the whole record (message, arguments and
    traceback) onto one line. Backslashes stay: fields escaped before are not escaped twice."""

    def format(self, record: logging.LogRecord) -> str:
        return escape(super().format(record), backslash=False)


# Fields a record may carry (the access log's, through `extra=`) that the JSON format writes as its own keys.
FIELDS = ("client", "method", "path", "route", "status", "duration_ms", "user", "toe")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request fields the record carries (user,
    route, status, duration, toe...) and the traceback, if any, as a string (JSON escapes its line ends)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else OneLineFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
