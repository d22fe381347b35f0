"""Log records are one line each: control characters from requests are escaped, tracebacks included."""

from __future__ import annotations

import logging
import sys

from domolite.server.logs import FORMAT, OneLineFormatter, escape


def test_escape_writes_control_characters_and_backslashes_visibly() -> None:
    assert escape("GET /a\r\nINFO forged\x00\x1b[31m\\") == "GET /a\\r\\nINFO forged\\x00\\x1b[31m\\\\"
    assert escape("Zoë ✓ plain") == "Zoë ✓ plain"
    assert escape("\u2028x\x85") == "\\u2028x\\x85"


def test_a_record_with_newlines_in_its_arguments_and_traceback_is_one_line() -> None:
    formatter = OneLineFormatter(FORMAT)
    try:
        raise ValueError("bad value 'a\nINFO domolite forged'")
    except ValueError:
        record = logging.LogRecord("domolite", logging.ERROR, __file__, 1, "load of %s failed", ("x\r\ny",), None)
        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "\n" not in text and "\r" not in text
    assert "load of x\\r\\ny failed" in text and "ValueError: bad value 'a\\nINFO domolite forged'" in text
    assert "\\" + "n" in text  # the traceback's own line ends, escaped
