"""Domo's CSV format: RFC 4180 plus bare LF; `\\N` and an empty field are NULL; `""` is an empty string.

`source_sql` turns part files into typed rows with DuckDB's CSV reader (the fast path). When that fails,
`diagnose` reads the parts again in Python to name the part, line and column of the first bad value.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import re
from collections.abc import Sequence
from pathlib import Path

from domolite.models.records import Column, DomoType
from domolite.storage.sqltext import ident, literal, null_columns

_READ_OPTIONS = (
    "header=false, auto_detect=false, delim=',', quote='\"', escape='\"', new_line='\\n', "
    "nullstr=['\\N', ''], allow_quoted_nulls=false, strict_mode=true"
)


def _size_options(max_record_bytes: int) -> str:
    """DuckDB's line limit above the record limit that receiving a part enforces (so DuckDB never refuses, or
    worse drops, a record that was accepted), and a buffer that holds two such lines."""
    line = max_record_bytes + 1024
    return f"max_line_size={line}, buffer_size={max(32 * 2**20, 2 * line)}"


# DECIMAL is stored as DECIMAL(38,9), but DuckDB's text-to-DECIMAL(38,x) cast is very slow (tens of µs a value:
# it parses into a 128-bit integer), while its DECIMAL(18,9) cast (a 64-bit one) runs at the speed of the CSV
# reader. Both round the same way (half away from zero at the 9th decimal), so the value is the same exact
# decimal whichever of these three gives it:
# 1. DECIMAL(18,9), for |value| < 10^9 (most values);
# 2. plain digits with up to 18 before the point: the whole part as BIGINT plus the fraction as DECIMAL(18,9);
# 3. anything else (more digits, exponent forms past 10^9, `1_000`): the full cast, which refuses bad values.
# tests/unit/test_csvformat.py compares the three against the full cast and against Python's exact decimals.
_DECIMAL_PLAIN = r"^\s*[+-]?\d{{1,18}}(\.\d*)?\s*$"
_DECIMAL_SPLIT = (
    "CAST(abs(CAST(split_part({c}, '.', 1) AS BIGINT)) AS DECIMAL(38,9)) "
    "+ CAST('0.' || rtrim(split_part({c}, '.', 2)) AS DECIMAL(18,9))"
)
_DECIMAL_LIMIT = decimal.Decimal(10) ** 29 - decimal.Decimal("0.0000000005")  # DECIMAL(38,9) after rounding
_DECIMAL_CAST = (
    "COALESCE(CAST(TRY_CAST(NULLIF({c}, '') AS DECIMAL(18,9)) AS DECIMAL(38,9)), "
    f"CASE WHEN regexp_full_match({{c}}, '{_DECIMAL_PLAIN}') THEN "
    f"CAST(CASE WHEN contains(split_part({{c}}, '.', 1), '-') THEN -({_DECIMAL_SPLIT}) ELSE {_DECIMAL_SPLIT} END "
    "AS DECIMAL(38,9)) "
    "ELSE CAST(NULLIF({c}, '') AS DECIMAL(38,9)) END)"
)


_CASTS: dict[DomoType, str] = {
    DomoType.STRING: "{c}",
    DomoType.LONG: "CAST(NULLIF({c}, '') AS BIGINT)",
    DomoType.DOUBLE: "CAST(NULLIF({c}, '') AS DOUBLE)",
    DomoType.DECIMAL: _DECIMAL_CAST,
    DomoType.DATE: "CAST(NULLIF({c}, '') AS DATE)",
    # An offset, when given, is honoured and the value stored in UTC. Only values that may carry one (a Z at the
    # end, or a sign after the date) take the TIMESTAMPTZ cast: it costs ~0.2 s more per 1,000,000 values.
    DomoType.DATETIME: (
        "(CASE WHEN ends_with({c}, 'Z') OR contains(substr({c}, 12), '+') OR contains(substr({c}, 12), '-') "
        "THEN CAST(CAST({c} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) "
        "ELSE CAST(NULLIF({c}, '') AS TIMESTAMP) END)"
    ),
}


# Types the CSV reader parses itself in the typed form of `source_sql`: exactly as a cast of the text would
# (tests/unit/test_csvformat.py compares them), except that it refuses `""`, which the cast takes as NULL.
_READ_TYPES: dict[DomoType, str] = {DomoType.LONG: "BIGINT", DomoType.DOUBLE: "DOUBLE", DomoType.DATE: "DATE"}


def source_sql(
    files: Sequence[Path | str], columns: Sequence[Column], *, typed: bool = False, max_record_bytes: int = 4 * 2**20
) -> str:
    """SELECT the typed rows of header-less CSV files, in the given order, named as the schema names them.

    Untyped, every column is read as text and cast (the Domo rules above, in full). `typed` lets the CSV
    reader parse LONG, DOUBLE and DATE columns itself, ~20% faster; it fails where a numeric or date column
    holds `""`, so a load that fails typed must be tried again untyped before any value is called bad.
    """
    if not files:
        return f"SELECT {null_columns(columns)} WHERE false"
    read_as = [(_READ_TYPES.get(c.type, "VARCHAR") if typed else "VARCHAR") for c in columns]
    raw_columns = "{" + ", ".join(f"'c{i}': '{t}'" for i, t in enumerate(read_as)) + "}"
    file_list = "[" + ", ".join(literal(str(f)) for f in files) + "]"
    select = ", ".join(
        (f"c{i}" if read_as[i] != "VARCHAR" else _CASTS[c.type].format(c=f"c{i}")) + f" AS {ident(c.name)}"
        for i, c in enumerate(columns)
    )
    options = f"{_READ_OPTIONS}, {_size_options(max_record_bytes)}"
    read = f"SELECT {select} FROM read_csv({file_list}, {options}, columns={raw_columns})"
    if not any(c.type in _IN_RANGE for c in columns):
        return read
    checked = ", ".join(
        _IN_RANGE[c.type].format(c=ident(c.name)) + f" AS {ident(c.name)}" if c.type in _IN_RANGE else ident(c.name)
        for c in columns
    )
    return f"SELECT {checked} FROM ({read})"


# DuckDB's casts also take `infinity`, `-infinity`, years past 9999 and BC dates (`0000-01-01`), which Domo's
# formats (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS) cannot show: such a value fails the load (and is then named).
_IN_RANGE: dict[DomoType, str] = {
    DomoType.DATE: (
        "CASE WHEN {c} IS NULL OR {c} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31' THEN {c} "
        "ELSE error('a DATE outside the years 1 to 9999') END"
    ),
    DomoType.DATETIME: (
        "CASE WHEN {c} IS NULL OR {c} BETWEEN TIMESTAMP '0001-01-01' AND TIMESTAMP '9999-12-31 23:59:59.999999' "
        "THEN {c} ELSE error('a DATETIME outside the years 1 to 9999') END"
    ),
}


# -- diagnostics --------------------------------------------------------------------------------------------------

# ASCII only, as DuckDB's casts: a digit of another script (１２, ١٢) is no digit to them.
# A LONG may have a fraction, rounded half away from zero as DuckDB's cast rounds it (1.5 is 2).
_INT = re.compile(r"^\s*[+-]?(\d+(_\d+)*(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$", re.ASCII)  # 1_000 is 1000
_HEX = re.compile(r"^\s*0[xX][0-9a-fA-F]+\s*$", re.ASCII)  # DuckDB's cast reads 0x10 as 16
# The date's parts are joined by - or / (the same both times), as DuckDB's casts read them.
_DATE = re.compile(r"^\s*(\d{4})(?P<s>[-/])(\d{1,2})(?P=s)(\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?\s*$", re.ASCII)
_DATETIME = re.compile(  # an offset follows the time directly (DuckDB reads " +01:00" as a time zone name)
    r"^\s*(\d{4})(?P<s>[-/])(\d{1,2})(?P=s)(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$",
    re.ASCII,
)


def value_problem(value: str, type_: DomoType) -> str | None:
    """Why `value` (not NULL, not empty) is not a valid `type_`, or None when it is."""
    if type_ is DomoType.STRING:
        return None
    if type_ is DomoType.LONG:
        if _HEX.match(value):
            rounded = decimal.Decimal(int(value.strip(), 16))
        elif not _INT.match(value):
            return "is not a whole number"
        else:
            rounded = decimal.Decimal(value.strip()).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP)
        if not -(2**63) <= rounded < 2**63:
            return "is out of the LONG range"
        return None
    if type_ is DomoType.DOUBLE:
        try:
            float(value if value.isascii() else "x")
        except ValueError:
            return "is not a number"
        return None
    if type_ is DomoType.DECIMAL:
        if not value.isascii():
            return "is not a decimal number"
        try:
            number = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            return "is not a decimal number"
        if not number.is_finite():
            return "is not a decimal number"
        if abs(number) >= _DECIMAL_LIMIT:  # rounding to 9 decimals can only carry it to the limit itself
            return "is out of the DECIMAL range (29 digits before the point, 9 after)"
        return None
    if value.strip().lower() == "epoch":  # DuckDB's name for 1970-01-01
        return None
    pattern = _DATE if type_ is DomoType.DATE else _DATETIME
    match = pattern.match(value)
    if not match:
        expected = "YYYY-MM-DD" if type_ is DomoType.DATE else "YYYY-MM-DD[THH:MM:SS[.fff]]"
        return f"is not a {type_.value} ({expected})"
    try:
        dt.date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
        if type_ is DomoType.DATETIME and match.group(5) is not None:
            dt.time(int(match.group(5)), int(match.group(6)), int(match.group(7) or 0))
    except ValueError as exc:
        return f"is not a valid {type_.value} ({exc})"
    return None


def diagnose(parts: Sequence[tuple[str, Path]], columns: Sequence[Column]) -> str | None:
    """The first problem in the parts (each named: "part 3", "the body"), naming the line and the column; None
    if Python finds none. Lines are read as DuckDB reads them: they end with LF (or CRLF), a blank line is a
    NULL with one column and nothing with more, and a carriage return anywhere else must be quoted."""
    ncols = len(columns)
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # a field is as long as a record may be
    for name, path in parts:
        with path.open("r", encoding="utf-8", newline="\n", errors="strict") as fh:
            reader = csv.reader(fh, strict=True)
            line = 1
            try:
                for record in reader:
                    if not record and ncols > 1:  # a blank line: skipped
                        line = reader.line_num + 1
                        continue
                    record = record or [""]
                    if len(record) != ncols:
                        return f"{name}, line {line}: expected {ncols} columns, found {len(record)}"
                    for col, value in zip(columns, record, strict=True):
                        if value == "" or value == "\\N":
                            continue
                        problem = value_problem(value, col.type)
                        if problem:
                            shown = value if len(value) <= 60 else value[:57] + "..."
                            return f"{name}, line {line}, column {col.name!r}: {shown!r} {problem}"
                    line = reader.line_num + 1
            except csv.Error as exc:
                if "new-line character" in str(exc):
                    return f"{name}, line {reader.line_num}: {_LONE_CR}"
                return f"{name}, line {reader.line_num}: malformed CSV ({exc})"
            except UnicodeDecodeError:
                return f"{name}: the data is not UTF-8 text"
        if _ends_in_cr(path):
            return f"{name}, line {max(line - 1, 1)}: {_LONE_CR}"
    return None


_LONE_CR = "a carriage return (CR) outside quotes that does not end a CRLF; lines end with LF or CRLF"


def _ends_in_cr(path: Path) -> bool:
    with path.open("rb") as fh:
        if fh.seek(0, 2) == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) == b"\r"
