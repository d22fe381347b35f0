"""What went wrong in a user's SQL, said as Domo says it: the mistake, where it is in the SQL as written, and a
suggestion ("no column 'nmae'; did you mean 'name'?"), rather than the parser's or DuckDB's own words."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import sqlglot
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

# Words a statement is made of: a misspelling of one of them is the likely mistake in SQL that does not parse.
KEYWORDS = tuple(
    """SELECT FROM WHERE GROUP ORDER BY HAVING LIMIT OFFSET JOIN LEFT RIGHT INNER OUTER FULL CROSS ON USING AS AND
    OR NOT IN IS NULL LIKE BETWEEN CASE WHEN THEN ELSE END DISTINCT UNION ALL WITH DESC ASC OVER PARTITION CAST
    EXISTS INTERVAL""".split()
)

_WORDS = (TokenType.VAR, TokenType.IDENTIFIER)
_MISSING_COLUMN = re.compile(
    r'Referenced column "((?:[^"]|"")+)" not found|does not have a column named "((?:[^"]|"")+)"'
)
_CANDIDATES = re.compile(r"Candidate bindings: (.*)")


def _tokens(text: str) -> list[Token]:
    try:
        return list(sqlglot.tokenize(text, read="mysql"))
    except (ParseError, TokenError):
        return []


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _error_offset(text: str, exc: ParseError, tokens: Sequence[Token]) -> int | None:
    """Where the parser stopped: the start of the token it stopped at, as an offset into `text`."""
    errors = getattr(exc, "errors", None) or []
    line, col = (errors[0].get("line"), errors[0].get("col")) if errors else (None, None)
    if not isinstance(line, int) or not isinstance(col, int):
        return None
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    if not 1 <= line <= len(starts):
        return None
    end = starts[line - 1] + max(col - 1, 0)  # the parser names the last character of that token
    at: int = next((t.start for t in tokens if t.start <= end <= t.end), min(end, len(text)))
    return at


def parse_mistake(text: str, exc: ParseError) -> str:
    """A parse error said at the real mistake: the first word up to where the parser stopped that is a
    misspelt keyword (`SELEC`, `FORM`, `WERE`), with the keyword meant; else where the parser stopped."""
    tokens = _tokens(text)
    stopped = _error_offset(text, exc, tokens)
    for token in tokens:
        if stopped is not None and token.start > stopped:
            break
        if token.token_type is not TokenType.VAR:  # a quoted name is no misspelt keyword
            continue
        word = token.text.upper()
        meant = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.75)
        if meant and word not in KEYWORDS:
            return (
                f"the SQL does not parse at {_where(text, token.start)}: {token.text!r} is not a SQL keyword; "
                f"did you mean {meant[0]}?"
            )
    short = _plain(str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
    if stopped is None:
        return f"the SQL does not parse: {short}"
    near = text[stopped : stopped + 20].split("\n")[0].strip() or "the end"
    return f"the SQL does not parse at {_where(text, stopped)} (near {near!r}): {short}"


def _plain(parser_text: str) -> str:
    """The parser's words without its internals (class names, its own positions)."""
    text = re.sub(r"\s*Line \d+, Col: \d+\.?", "", parser_text).strip()
    incomplete = re.match(r"Required keyword: '\w+' missing for <class '[\w.]*?(\w+)'>", text)
    if incomplete:
        return f"the {incomplete.group(1).upper()} is incomplete"
    if text.startswith("Invalid expression / Unexpected token"):
        return "unexpected word or symbol here"
    if text.startswith("Expecting )"):
        return "a ')' is missing"
    return text


def missing_column(message: str, user_sql: str, columns: Sequence[str]) -> str | None:
    """DuckDB's "Referenced column … not found" as Domo says it, with the closest column of the DataSet (or of
    DuckDB's candidates) and where the name is in the SQL as written; None for other errors."""
    found = _MISSING_COLUMN.search(message)
    if found is None:
        return None
    name = (found.group(1) or found.group(2)).replace('""', '"')
    listed = _CANDIDATES.search(message)
    candidates = list(columns)
    if listed:
        candidates += [c.strip().strip('"').rsplit(".", 1)[-1] for c in listed.group(1).split(",")]
    candidates = list(dict.fromkeys(c for c in candidates if c))
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    text = f"no column {name!r}"
    at = next((t.start for t in _tokens(user_sql) if t.token_type in _WORDS and t.text == name), None)
    if at is not None:
        text += f" ({_where(user_sql, at)})"
    if close:
        return f"{text}; did you mean {by_lower[close[0]]!r}?"
    if columns:
        return f"{text}; the DataSet's columns are " + ", ".join(repr(c) for c in columns)
    return text
