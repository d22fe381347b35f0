"""The typed form of the CSV reader's SELECT parses numbers and dates exactly as the full (text, then cast) form
does, and refuses only what the full form must decide: `""` in a number or date column (NULL there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from domolite.ingest.csvformat import source_sql
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
    return f'"{value}"' if "," in value else value


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
