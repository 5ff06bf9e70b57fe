"""Canonical cells, delimited text as rows, and table prints (pure: no store)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.fingerprint.cells import canonical_cell
from dlpd.fingerprint.delimited import rows_from_text
from dlpd.fingerprint.table import MAX_COLUMNS, PRINT_MASK, table_prints

KEY = bytes(range(32))

CANONICAL = [
    # numbers: one form whatever the writer's habits
    ("72.40", "72.4"), ("72.4", "72.4"), ("+72.400", "72.4"), ("-72.40", "-72.4"),
    ("1,234.5", "1234.5"), ("1234.50", "1234.5"), ("1.234,5", "1234.5"), ("72,40", "72.4"),
    ("1,234", "1234"), ("1e3", "1000"), ("1E+03", "1000"), ("1.5e3", "1500"),
    ("0.30000000000000004", "0.3"), ("72.400000000000006", "72.4"), (".5", "0.5"),
    ("-.5", "-0.5"), ("0.000001", "0.000001"), ("1e-25", "1e-25"), ("1.5e30", "1.5e+30"),
    ("02139", "2139"), ("12345678901234567890123", "12345678901234567890123"),
    ("1e999999", "1e999999"),  # not expanded into a megabyte of zeros
    # dates: ISO 8601; day-first with dots; d/m/y only when one reading is a date
    ("2026-11-02", "2026-11-02"), ("2026/11/02", "2026-11-02"), ("2026-11-2", "2026-11-02"),
    ("2.11.2026", "2026-11-02"), ("13/11/2026", "2026-11-13"), ("11/13/2026", "2026-11-13"),
    ("02/11/2026", "02/11/2026"), ("2/11/2026", "02/11/2026"), ("05/05/2026", "2026-05-05"),
    ("2 Nov 2026", "2026-11-02"), ("02-Nov-2026", "2026-11-02"), ("Nov 2, 2026", "2026-11-02"),
    ("November 2, 2026", "2026-11-02"), ("2026-11-02T10:00:00", "2026-11-02t10:00:00"),
    ("2026-11-02 10:00", "2026-11-02t10:00:00"), ("2026-02-30", "2026-02-30"),
    # text: NFKC (width), casefold, whitespace, invisible characters
    ("\uff21\uff22\uff23", "abc"), ("Straße", "strasse"), ("  Kato,  Akiko ", "kato, akiko"),
    ("K17-R00412", "k17-r00412"), ("ﬁnal", "final"), ("pa\u00adtient", "patient"),
    ("\ufeffsample", "sample"), ("ab\u200bc", "abc"), ("ｶﾀｶﾅ", "カタカナ"),
    # no evidence
    ("", None), ("   ", None), ("-", None), ("n/a", None), ("N/A", None), ("NULL", None),
    ("NaN", None), ("TRUE", None), ("false", None), ("Yes", None), ("#DIV/0!", None),
    ("x", None), ("7", None), ("-0", None), ("0.00", None), ("007", None),
]


@pytest.mark.parametrize(("raw", "expected"), CANONICAL)
def test_canonical_cell(raw: str, expected: str | None) -> None:
    assert canonical_cell(raw) == expected


@given(st.text(max_size=40))
def test_canonical_cell_is_idempotent(value: str) -> None:
    once = canonical_cell(value)
    if once is not None:
        assert canonical_cell(once) == once


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4,
                   min_value=Decimal("-1e9"), max_value=Decimal("1e9")))
def test_a_number_written_three_ways_is_one_cell(number: Decimal) -> None:
    plain = f"{number:f}"
    padded = f"{number:.6f}"
    grouped = f"{number:,.6f}"
    assert canonical_cell(plain) == canonical_cell(padded) == canonical_cell(grouped)


@given(st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2199, 12, 31)))
def test_a_date_written_unambiguously_is_iso(day: datetime.date) -> None:
    iso = day.isoformat()
    forms = [iso, day.strftime("%Y/%m/%d"), f"{day.day}.{day.month}.{day.year}",
             day.strftime("%d %b %Y"), day.strftime("%b %d, %Y")]
    if day.day > 12 or day.day == day.month:  # a day no month number reaches
        forms += [day.strftime("%d/%m/%Y"), day.strftime("%m/%d/%Y")]
    assert {canonical_cell(f) for f in forms} == {iso}


def test_rows_from_csv_with_quotes_and_a_header() -> None:
    text = 'id,name,value\n1,"Kato, Akiko",72.40\n2,"Lee ""B""",1\n3,Ngata,"1,234.5"\n'
    assert rows_from_text(text) == [["id", "name", "value"], ["1", "Kato, Akiko", "72.40"],
                                    ["2", 'Lee "B"', "1"], ["3", "Ngata", "1,234.5"]]


def test_rows_from_semicolons_with_decimal_commas() -> None:
    text = "probe;datum;wert\nA-1;02.11.2026;72,4\nA-2;03.11.2026;1.234,5\nA-3;04.11.2026;3,0\n"
    rows = rows_from_text(text)
    assert rows is not None and rows[1] == ["A-1", "02.11.2026", "72,4"]
    assert [canonical_cell(c) for c in rows[2]] == ["a-2", "2026-11-03", "1234.5"]


def test_rows_from_worksheet_text_skip_the_sheet_name() -> None:
    text = "Runs\nrun\tmach\tpressure\nK-1\t1.5\t101.3\nK-2\t2.5\t99.1\nK-3\t0.8\t98.0\n"
    rows = rows_from_text(text)
    assert rows is not None and rows[0] == ["run", "mach", "pressure"] and len(rows) == 4


@pytest.mark.parametrize("text", [
    "Dear colleague, thank you for the data.\nThe run table, as agreed, follows later.\n"
    "Best wishes, and see you soon.\nAkiko\n",
    "one line, only\n",
    "",
    "a,b\nc\x00d,e\n",
])
def test_prose_and_scraps_are_not_tables(text: str) -> None:
    assert rows_from_text(text) is None


def test_rows_are_bounded() -> None:
    wide = ",".join(f"c{i}" for i in range(1000))
    text = "\n".join([wide] * 50)
    rows = rows_from_text(text, max_rows=10)
    assert rows is not None and len(rows) == 10 and all(len(r) == MAX_COLUMNS for r in rows)
    # A field over csv's limit ends the table where it stands, it does not raise.
    huge_field = "a,b\nc,d\ne,f\n" + "x" * 300_000 + ",y\n" + "g,h\n" * 5
    assert rows_from_text(huge_field) == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_header_is_skipped_and_prints_hold_no_cells() -> None:
    rows = [["sample", "date", "value"], ["S-1", "2026-01-02", "1.5"],
            ["S-2", "2026-01-03", "2.5"], ["S-3", "2026-01-04", "2.5"]]
    prints = table_prints(rows, KEY, max_rows=100)
    assert prints.header and prints.rows == 3
    assert all(0 <= p <= PRINT_MASK for p in prints.cells)
    assert prints.cells[max(prints.cells, key=prints.cells.__getitem__)] == 2  # "2.5"
    assert all(isinstance(p, int) for row in prints.row_cells for p in row)


def test_a_table_of_text_keeps_its_first_row() -> None:
    rows = [["kato", "akiko"], ["lee", "bora"], ["ngata", "tama"]]
    assert not table_prints(rows, KEY, max_rows=10).header
    assert table_prints(rows, KEY, max_rows=10).rows == 3


def test_the_key_changes_every_print() -> None:
    rows = [["S-1", "2026-01-02", "1.5"], ["S-2", "2026-01-03", "2.5"]]
    a = table_prints(rows, KEY, max_rows=10)
    b = table_prints(rows, bytes(32), max_rows=10)
    assert a.rows == b.rows and not set(a.cells) & set(b.cells)


def test_max_rows_cuts() -> None:
    rows = [[f"S-{i}", f"{i}.5"] for i in range(100)]
    prints = table_prints(rows, KEY, max_rows=10)
    assert prints.cut and prints.rows == 10
