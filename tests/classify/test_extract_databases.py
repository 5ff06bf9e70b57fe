"""Database files: SQLite through the stdlib driver, Parquet/Arrow/Feather through pyarrow.

Every database here is written by the format's own library (``sqlite3``, ``pyarrow``) at
run time; hostile ones are real files damaged afterwards.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import feather

from dlpd.classify.extract import Member, extract
from dlpd.classify.limits import Budget, ExtractOptions, Limits, MiB
from dlpd.errors import ExtractionError, LimitExceeded

Build = Callable[[sqlite3.Connection], None]


def sqlite_file(path: Path, build: Build) -> Path:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # thousands of one-row commits, no fsync
        build(conn)
    finally:
        conn.close()
    return path


def sqlite_bytes(tmp_path: Path, build: Build, name: str = "study.db") -> bytes:
    return sqlite_file(tmp_path / name, build).read_bytes()


def read_members(data: bytes, budget: Budget | None = None, kind: str = "sqlite") -> list[Member]:
    return list(extract(kind, io.BytesIO(data), budget or Budget(Limits())))


def tables(data: bytes, budget: Budget | None = None) -> dict[str, str]:
    found = read_members(data, budget)
    assert all(m.is_text and m.part for m in found)
    return {m.name: m.data.decode() for m in found}


def patients(conn: sqlite3.Connection) -> None:
    conn.executescript("""
        CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT, social_security_number,
                               card_number TEXT, weight REAL, photo BLOB, note BLOB);
        CREATE VIEW adults AS SELECT name FROM patients;
        CREATE VIRTUAL TABLE notes USING fts5(title, body);
    """)
    conn.execute("INSERT INTO patients VALUES (1, 'Alice', '234567891', '4111111111111111',"
                 " 61.5, x'89504e470d0a1a0a0000000d49484452', CAST('blob text' AS BLOB))")
    conn.execute("INSERT INTO patients VALUES (2, 'Bob', 345678912, NULL, 80.0, NULL, NULL)")
    conn.execute("INSERT INTO notes VALUES ('memo', 'call back re: SSN 456-78-9123')")


# -- SQLite: what is read --------------------------------------------------------------
def test_each_table_is_a_named_part_a_row_a_line_with_column_names(tmp_path: Path) -> None:
    found = tables(sqlite_bytes(tmp_path, patients))
    lines = found["patients"].splitlines()
    assert lines == [
        "id=1; name=Alice; social_security_number=234567891; card_number=4111111111111111;"
        " weight=61.5; note=blob text",
        "id=2; name=Bob; social_security_number=345678912; weight=80",
    ]
    # The view and the FTS5 table itself are not run; the FTS shadow table holding the
    # text is an ordinary table and is read.
    assert "adults" not in found
    assert "notes" not in found
    assert "456-78-9123" in found["notes_content"]


def test_odd_names_without_rowid_and_non_utf8_text(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute('CREATE TABLE "we""ird\nname" ("col""umn" TEXT, "a\tb" TEXT)')
        conn.execute('INSERT INTO "we""ird\nname" VALUES (\'x\', \'y\')')
        conn.execute("CREATE TABLE pairs (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
        conn.execute("INSERT INTO pairs VALUES ('card', '5500000000000004')")
        conn.execute("CREATE TABLE latin (t TEXT)")
        conn.execute("INSERT INTO latin VALUES (CAST(x'63616665e9206e6f7465' AS TEXT))")

    found = tables(sqlite_bytes(tmp_path, build))
    assert found['we"ird\nname'] == 'col"umn=x; a b=y'
    assert found["pairs"] == "k=card; v=5500000000000004"
    assert found["latin"] == "t=cafe\ufffd note"


def test_generated_columns_are_not_computed(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t (a TEXT, shout TEXT AS (upper(a)) VIRTUAL,"
                     " kept TEXT AS (a || '!') STORED)")
        conn.execute("INSERT INTO t (a) VALUES ('hello')")

    assert tables(sqlite_bytes(tmp_path, build)) == {"t": "a=hello"}


def test_cells_are_cut_and_long_blobs_skipped(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t (id INTEGER, body TEXT, payload BLOB)")
        conn.execute("INSERT INTO t VALUES (1, ?, ?)", ("é" * 10_000, b"A" * (2 * MiB)))
        conn.execute("INSERT INTO t VALUES (2, 'after', CAST('short text' AS BLOB))")

    budget = Budget(Limits(), options=ExtractOptions(max_cell_bytes=101))
    lines = tables(sqlite_bytes(tmp_path, build), budget)["t"].splitlines()
    assert lines[0] == "id=1; body=" + "é" * 50  # 101 bytes: 50 whole characters
    assert lines[1] == "id=2; body=after; payload=short text"


def test_a_value_too_long_ends_its_table_keeps_what_came_before(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t (id INTEGER, body TEXT)")
        conn.execute("INSERT INTO t VALUES (1, 'first')")
        # The driver reads a row ahead: the row before the failing one goes with it.
        conn.execute("INSERT INTO t VALUES (2, 'lost with the next')")
        conn.execute("INSERT INTO t VALUES (3, ?)", ("x" * (9 * MiB),))
        conn.execute("CREATE TABLE later (v TEXT)")
        conn.execute("INSERT INTO later VALUES ('read')")

    data = sqlite_bytes(tmp_path, build)
    found: list[Member] = []
    with pytest.raises(ExtractionError, match="a value longer than 8192 KiB"):
        for member in extract("sqlite", io.BytesIO(data), Budget(Limits())):
            found.append(member)
    assert {m.name: m.data for m in found} == {"t": b"id=1; body=first", "later": b"v=read"}


def test_rows_past_max_table_rows_are_cut_and_noted_fast(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO big (v) VALUES (?)", (("row",) for _ in range(200_000)))

    data = sqlite_bytes(tmp_path, build)
    budget = Budget(Limits())
    started = time.monotonic()
    text = tables(data, budget)["big"]
    assert time.monotonic() - started < 5
    assert len(text.splitlines()) == 10_000
    assert budget.notes == [("max_table_rows", "table 'big': first 10000 rows read")]


def test_exactly_max_table_rows_is_not_cut(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t (v INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", ((n,) for n in range(5)))

    budget = Budget(Limits(), options=ExtractOptions(max_table_rows=5))
    assert len(tables(sqlite_bytes(tmp_path, build), budget)["t"].splitlines()) == 5
    assert budget.notes == []


def test_scan_time_running_out_stops_sqlite_keeps_tables_read(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE first (v TEXT)")
        conn.execute("INSERT INTO first VALUES ('kept')")
        conn.execute("CREATE TABLE slow (v TEXT)")
        conn.executemany("INSERT INTO slow VALUES (?)", (("x",) for _ in range(50_000)))

    data = sqlite_bytes(tmp_path, build)
    ticks = count()
    # Each look at the clock is a second later: the first table is read within the
    # budget, the progress handler stops SQLite in the second.
    budget = Budget(Limits(scan_timeout=40.0), clock=lambda: float(next(ticks)),
                    options=ExtractOptions(max_table_rows=100_000))
    found = []
    with pytest.raises(LimitExceeded) as raised:
        found.extend(extract("sqlite", io.BytesIO(data), budget))
    assert raised.value.limit == "scan_timeout"
    assert found[0].data == b"v=kept"


# -- SQLite: how it is opened ------------------------------------------------------------
def test_read_from_a_file_object_through_a_private_copy(tmp_path: Path) -> None:
    path = sqlite_file(tmp_path / "big.db", patients)
    before = sorted(os.listdir(tmp_path))
    with path.open("rb") as stream:
        found = {m.name: m.data for m in extract("sqlite", stream, Budget(Limits()))}
    assert b"social_security_number=234567891" in found["patients"]
    assert sorted(os.listdir(tmp_path)) == before


def test_a_file_bigger_than_max_scan_bytes_is_copied_to_its_cut(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE head (v TEXT)")
        conn.execute("INSERT INTO head VALUES ('first pages')")
        conn.execute("CREATE TABLE tail (v BLOB)")
        conn.executemany("INSERT INTO tail VALUES (randomblob(4000))", [()] * 100)

    path = sqlite_file(tmp_path / "cut.db", build)
    budget = Budget(Limits(max_scan_bytes=64 * 1024))
    with path.open("rb") as stream:
        found = {m.name: m.data for m in extract("sqlite", stream, budget)}
    assert found["head"] == b"v=first pages"
    assert [limit for limit, _ in budget.notes] == ["max_scan_bytes"]


@pytest.mark.parametrize("as_file", [False, True], ids=["in-memory", "file"])
def test_live_wal_writer_neither_blocks_nor_is_blocked(tmp_path: Path, as_file: bool) -> None:
    path = tmp_path / "live.db"
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE t (v TEXT)")
        writer.execute("INSERT INTO t VALUES ('checkpointed')")
        writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        writer.execute("INSERT INTO t VALUES ('committed in the wal')")
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO t VALUES ('uncommitted')")
        listed = sorted(os.listdir(tmp_path))
        if as_file:
            with path.open("rb") as stream:
                found = list(extract("sqlite", stream, Budget(Limits())))
        else:
            found = read_members(path.read_bytes())
        # What the main file holds is read; what the -wal file holds is that file's.
        assert [(m.name, m.data) for m in found] == [("t", b"v=checkpointed")]
        assert sorted(os.listdir(tmp_path)) == listed
        writer.execute("COMMIT")  # the writer was never locked out
    finally:
        writer.close()


# -- SQLite: bad input ---------------------------------------------------------------------
def test_header_then_garbage_is_not_a_database(tmp_path: Path) -> None:
    data = b"SQLite format 3\x00" + os.urandom(8192)
    with pytest.raises(ExtractionError) as raised:
        read_members(data)
    # Random header fields decide which check SQLite fails first: 0.4 % of random tails
    # claim WAL mode and fail to open (SQLITE_CANTOPEN): contained all the same.
    assert str(raised.value) in ("not a database (encrypted or damaged)", "malformed database",
                                 "sqlite error (SQLITE_CANTOPEN)"), str(raised.value)


def test_header_alone_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExtractionError):
        read_members(b"SQLite format 3\x00")


def test_truncated_database_keeps_the_tables_it_still_has(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE early (v TEXT)")
        conn.execute("INSERT INTO early VALUES ('on page two')")
        conn.execute("CREATE TABLE late (v TEXT)")
        conn.executemany("INSERT INTO late VALUES (?)", (("y" * 500,) for _ in range(200)))

    data = sqlite_bytes(tmp_path, build)
    found: list[Member] = []
    with pytest.raises(ExtractionError, match=r"1 unreadable in sqlite: malformed database"):
        for member in extract("sqlite", io.BytesIO(data[: len(data) // 2]), Budget(Limits())):
            found.append(member)
    assert found[0].name == "early"
    assert found[0].data == b"v=on page two"


def test_a_header_claiming_a_huge_page_count_is_read_as_the_file_is(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES ('there')")

    data = bytearray(sqlite_bytes(tmp_path, build))
    data[28:32] = (0x7FFFFFFF).to_bytes(4, "big")  # in-header database size, in pages
    try:
        found = {m.name: m.data for m in read_members(bytes(data))}
    except ExtractionError as exc:
        assert "malformed" in str(exc) or "not a database" in str(exc)
    else:
        assert found == {"t": b"v=there"}


def test_a_schema_row_typed_table_that_is_a_view_is_not_run(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE base (v TEXT)")
        conn.execute("INSERT INTO base VALUES ('row')")
        conn.execute("CREATE VIEW sneaky AS SELECT v FROM base, base b2, base b3")
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute("UPDATE sqlite_schema SET type='table' WHERE name='sneaky'")

    assert tables(sqlite_bytes(tmp_path, build)) == {"base": "v=row"}


def test_a_schema_sqlite_cannot_parse_loses_only_its_table(tmp_path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE good (v TEXT)")
        conn.execute("INSERT INTO good VALUES ('row')")
        conn.execute("CREATE TABLE secret_4111111111111111 (v TEXT)")
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute("UPDATE sqlite_schema SET sql='CREATE TABLE secret_4111111111111111 ("
                     "v TEXT CHECK (' WHERE name LIKE 'secret%'")

    found: list[Member] = []
    with pytest.raises(ExtractionError, match="1 unreadable in sqlite: unreadable schema"):
        for member in extract("sqlite", io.BytesIO(sqlite_bytes(tmp_path, build)),
                              Budget(Limits())):
            found.append(member)
    assert [(m.name, m.data) for m in found] == [("good", b"v=row")]


# -- Parquet, Arrow IPC (Feather v2), Feather v1 ---------------------------------------------
def people(rows: int = 300) -> pa.Table:
    return pa.table({
        "id": list(range(rows)),
        "social_security_number": [f"{234567000 + n}" for n in range(rows)],
        "card_number": [4111111111111111 if n == 0 else None for n in range(rows)],
        "scan": [b"\x89PNG\r\n\x1a\n\x00\x00" if n % 2 else b"plain words" for n in range(rows)],
    })


def written(write: Callable[[io.BytesIO], None]) -> bytes:
    out = io.BytesIO()
    write(out)
    return out.getvalue()


COLUMNAR = {
    "parquet-snappy": ("parquet", lambda t, out: pq.write_table(t, out, compression="snappy",
                                                                row_group_size=100)),
    "feather-v2": ("arrow", lambda t, out: feather.write_feather(t, out, version=2,
                                                                 chunksize=100)),
    "feather-v1": ("arrow", lambda t, out: feather.write_feather(t, out, version=1)),
}


@pytest.mark.filterwarnings("ignore:Feather V1 files are deprecated")
@pytest.mark.parametrize("fmt", COLUMNAR)
def test_columnar_file_is_one_table_a_row_a_line(fmt: str) -> None:
    kind, write = COLUMNAR[fmt]
    data = written(lambda out: write(people(), out))
    found = read_members(data, kind=kind)
    assert [(m.name, m.is_text, m.part) for m in found] == [("table", True, True)]
    lines = found[0].data.decode().splitlines()
    assert len(lines) == 300
    assert lines[0] == ("id=0; social_security_number=234567000; card_number=4111111111111111;"
                        " scan=plain words")
    assert lines[1] == "id=1; social_security_number=234567001"


def test_parquet_rows_past_max_table_rows_are_cut_across_row_groups() -> None:
    data = written(lambda out: pq.write_table(people(1000), out, row_group_size=128))
    budget = Budget(Limits(), options=ExtractOptions(max_table_rows=300))
    found = read_members(data, budget, kind="parquet")
    assert len(found[0].data.splitlines()) == 300
    assert budget.notes == [("max_table_rows", "table: first 300 rows read")]


def test_columnar_cells_are_cut() -> None:
    table = pa.table({"s": ["é" * 1000], "b": [b"x" * 1000]})
    data = written(lambda out: pq.write_table(table, out))
    budget = Budget(Limits(), options=ExtractOptions(max_cell_bytes=11))
    assert read_members(data, budget, kind="parquet")[0].data.decode() == (
        "s=" + "é" * 5 + "; b=" + "x" * 11)


@pytest.mark.parametrize("damage", ["truncated footer", "wrong end magic", "no footer"])
def test_damaged_parquet_is_a_clear_error(damage: str) -> None:
    data = written(lambda out: pq.write_table(people(), out))
    bad = {"truncated footer": data[:-12] + data[-4:],
           "wrong end magic": data[:-4] + b"PAR0",
           "no footer": data[: len(data) // 2]}[damage]
    with pytest.raises(ExtractionError, match=r"^malformed parquet \(\w+\)$"):
        read_members(bad, kind="parquet")


def test_truncated_arrow_file_is_a_clear_error() -> None:
    data = written(lambda out: feather.write_feather(people(), out, version=2))
    with pytest.raises(ExtractionError, match=r"^malformed arrow \(\w+\)$"):
        read_members(data[: len(data) - 100], kind="arrow")


def test_without_the_columnar_extra_the_file_is_skipped_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_bytes(written(lambda out: pq.write_table(people(), out)))
    script = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"  # import pyarrow raises ImportError
        "from dlpd.config import Settings\n"
        "from dlpd.wiring import build_classifier\n"
        "result = build_classifier(Settings()).classify(sys.argv[1])\n"
        "print(result.outcome.value)\n"
        "print(result.reason)\n"
        "print(result.sha256 is not None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, timeout=60, check=True)
    outcome, reason, hashed = done.stdout.splitlines()
    assert outcome == "skipped"
    assert reason == "parquet: not read: pyarrow is not installed (pip install 'dlpd[columnar]')"
    assert hashed == "True"  # read, hashed and typed; only its rows were not
