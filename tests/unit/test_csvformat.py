"""The typed form of the CSV reader's SELECT parses numbers and dates exactly as the full (text, then cast) form
does, and refuses only what the full form must decide: `""` in a number or date column (NULL there)."""

from __future__ import annotations

import decimal
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from domolite.ingest.csvformat import source_sql, value_problem
from domolite.models.records import Column, DomoType

VALUES = {
    DomoType.LONG: ["1", "-2", " 3 ", "+4", "1.0", "1.5", "1e3", "0x10", "007", "9223372036854775807",
                    "9223372036854775808", "1,000", "- 1", "1_000", "", "\\N", "abc"],
    DomoType.DOUBLE: ["1.5", " 2.5 ", "1e-7", "inf", "-inf", "nan", "NaN", "Infinity", ".5", "5.", "+1.0",
                      "1_000.5", "1,5", "0x1p3", "", "\\N", "abc"],
    DomoType.DATE: ["2024-01-02", "2024-1-2", " 2024-01-02 ", "2024-01-02 00:00:00", "2024-01-02T00:00:00",
                    "20240102", "2024/01/02", "02-01-2024", "2024-02-30", "", "\\N"],
}  # fmt: skip


def read(path: Path, type_: DomoType, typed: bool) -> Any:
    con = duckdb.connect()
    try:
        return con.execute(source_sql([path], [Column("v", type_)], typed=typed)).fetchall()
    except duckdb.Error:
        return "refused"
    finally:
        con.close()


def csv_field(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ",\n\r") else value


@pytest.mark.parametrize("type_", list(VALUES))
def test_the_typed_form_reads_every_value_as_the_full_form_does(tmp_path: Path, type_: DomoType) -> None:
    for n, value in enumerate(VALUES[type_]):
        path = tmp_path / f"{n}.csv"
        path.write_text(csv_field(value) + "\n")
        assert repr(read(path, type_, typed=True)) == repr(read(path, type_, typed=False)), value  # NaN as text


@pytest.mark.parametrize("type_", list(VALUES))
def test_a_quoted_empty_value_is_null_in_the_full_form_and_refused_by_the_typed_one(
    tmp_path: Path, type_: DomoType
) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('""\n')
    assert read(path, type_, typed=False) == [(None,)]
    assert read(path, type_, typed=True) == "refused"


# DECIMAL values whose exact value is stored with 9 decimals, rounded half away from zero: each of the three ways
# the load SQL parses them (64-bit DECIMAL, whole part plus fraction, the full 128-bit cast) is hit here.
DECIMAL_EDGES = [
    "12345.67", "-12345.67", "0", "-0", "+3.25", " 4.5 ", ".5", "-.5", "5.", "1.2345678905", "-1.2345678905",
    "1.2345678915", "0.0000000005", "-0.0000000005", "0.00000000049999999999", "1.99999999999",
    "1.23456789012345678901234567890", "999999999.999999999", "999999999.9999999995", "-999999999.9999999995",
    "1000000000", "-1000000000.5", "12345678901.2345678905", "-12345678901.2345678905", "77777777777.1  ",
    "123456789012345678", "123456789012345678.9999999999", "-123456789012345678.123456789",
    "1234567890123456789", "-9999999999999999999.999999999", "12345678901234567890123456789",
    "-12345678901234567890123456789.123456789", "12345678901.", "1.5e3", "1E-10", "5E-10", "-5e-10", "1e9",
    "-1.25e12", "1.234567890123e15", "1.2e20", "1_000", "1_000_000_000.5",
    # a sign after white space other than a space: tab, line feed, carriage return, form feed
    "\t-12345678901.5", "\n-12345678901.5", "\r-12345678901.5", "\x0c-12345678901.5", " \t-12345678901.25\t",
    "\t-12345678901", "\t+12345678901.5", "\t-5.5",
]  # fmt: skip


def exact(value: str) -> str:
    """The exact decimal value of the text, rounded half away from zero to 9 decimals."""
    context = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_UP)
    quantized = decimal.Decimal(value.strip()).quantize(decimal.Decimal("1e-9"), context=context)
    return f"{quantized:f}".replace("-0.000000000", "0.000000000")


def test_decimal_values_load_exactly_whichever_way_they_are_parsed(tmp_path: Path) -> None:
    rnd = random.Random(16)
    values = DECIMAL_EDGES + [
        f"{rnd.choice(['', '-'])}{rnd.randint(0, 10 ** rnd.randint(1, 28))}.{rnd.randint(0, 10**12):012d}"
        for _ in range(2000)
    ]
    path = tmp_path / "decimals.csv"
    path.write_text("".join(csv_field(v) + "\n" for v in values))
    con = duckdb.connect()
    loaded = con.execute(
        f"SELECT CAST(v AS VARCHAR) FROM ({source_sql([path], [Column('v', DomoType.DECIMAL)])})"
    ).fetchall()
    full = con.execute(
        f"SELECT CAST(CAST(v AS DECIMAL(38,9)) AS VARCHAR) FROM read_csv({str(path)!r}, header=false, "
        "auto_detect=false, columns={'v': 'VARCHAR'})"
    ).fetchall()
    assert [r[0] for r in loaded] == [r[0] for r in full]
    assert [f"{decimal.Decimal(r[0]):f}" for r in loaded] == [exact(v) for v in values]


@pytest.mark.parametrize("value", ["abc", "1.2.3", "1e", "--1", "1,5", "nan", "inf", "123456789012345678901234567890"])
def test_a_bad_or_too_large_decimal_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(csv_field(value) + "\n")
    assert read(path, DomoType.DECIMAL, typed=False) == "refused"


# Values for the diagnosis: what the load refuses, and only that, is named as a bad value.
DIAGNOSED = {
    **VALUES,
    DomoType.LONG: [*VALUES[DomoType.LONG], "2.5", "-2.5", ".5", "5.", "1.5e0", "9223372036854775807.4", "１２",
                    "1__0", "_1", "1_", "1_000_000", "0X1F", "-0x10", "+0x10", "0x", "1_0.5"],
    DomoType.DOUBLE: [*VALUES[DomoType.DOUBLE], "١٢", "1e400"],
    DomoType.DECIMAL: ["1.5", "-0.5", "1e3", "1e40", "abc", "nan", "١٢", " 2.5 "],
    DomoType.DATE: [*VALUES[DomoType.DATE], "infinity", "-infinity", "0000-01-01", "10000-01-01", "epoch", "EPOCH",
                    "2024/1/2", "2024-01/02", "2024/02/30"],
    DomoType.DATETIME: ["2024-01-02T03:04:05", "2024-01-02 03:04", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+0100",
                        "2024-01-02T03:04:05 +01:00", "2024-01-02T03:04:05 Z", "infinity", "0000-01-01T00:00:00",
                        "2024-01-02T25:00:00", "2024-01-02", "abc", "epoch", "2024/01/02 03:04:05", "2024-01/02 03:04"],
}  # fmt: skip


@pytest.mark.parametrize("type_", list(DIAGNOSED))
def test_the_diagnosis_names_a_value_exactly_when_the_load_refuses_it(tmp_path: Path, type_: DomoType) -> None:
    # After a failed load the diagnosis looks for the first bad value: one it wrongly calls bad would be named in
    # place of the real one, and one it wrongly passes would leave DuckDB's own message, with no line.
    for n, value in enumerate(v for v in DIAGNOSED[type_] if v not in ("", "\\N")):
        path = tmp_path / f"{n}.csv"
        path.write_text(csv_field(value) + "\n", encoding="utf-8")
        refused = read(path, type_, typed=False) == "refused"
        assert (value_problem(value, type_) is not None) == refused, (value, value_problem(value, type_))
