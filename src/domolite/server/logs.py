"""The server's log: one line per record, whatever a request put in it.

Request fields (paths, methods, names, e-mails, error messages quoting input) can hold CR, LF and other control
characters, raw or URL-encoded; written as they are they would forge log lines. The access log escapes its fields
(`escape`: `\\r`, `\\n`, `\\xNN`, and a backslash as `\\\\` so the escapes are unambiguous), and the formatter
escapes the control characters of every record whole, so a record, a traceback included, is always one line.
"""

from __future__ import annotations

import logging
import sys

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


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
