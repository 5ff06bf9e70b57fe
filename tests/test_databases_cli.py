"""Database files through `dlpd scan` and the shipped rules: what a table's column names
make findable, and the look-alikes that must stay quiet."""

from __future__ import annotations

import os
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

Build = Callable[[sqlite3.Connection], None]


def sqlite_file(path: Path, build: Build) -> Path:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        build(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path


def study(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE participants (id INTEGER PRIMARY KEY, name TEXT,"
                 " social_security_number TEXT, card_number TEXT, my_number TEXT)")
    conn.execute("CREATE TABLE accounts (email TEXT, password TEXT)")
    # The SSN column is far from the header in a raw dump: only the column name next to
    # each value says what the 9 bare digits are.
    conn.executemany(
        "INSERT INTO participants VALUES (?, ?, ?, ?, ?)",
        [(n, f"Participant {n}", f"{234567100 + n}", "4111111111111111" if n == 1 else None,
          "123456789018" if n == 2 else None) for n in range(1, 40)],
    )
    conn.execute("INSERT INTO accounts VALUES ('ana@example.org', 'Vr7#qLm2x9')")


def places(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR,"
                 " title LONGVARCHAR, visit_count INTEGER, last_visit_date INTEGER)")
    conn.executemany("INSERT INTO moz_places VALUES (?, ?, ?, ?, ?)", [
        (n, f"https://www.example.org/articles/{123456789 + n}?card=1", f"Article {n}",
         n % 7, 1715000000000000 + n) for n in range(500)])


def failing_cards(conn: sqlite3.Connection) -> None:
    # Card-shaped test numbers that fail Luhn, under a card column.
    conn.execute("CREATE TABLE payments (card_number TEXT, amount REAL)")
    conn.executemany("INSERT INTO payments VALUES (?, ?)",
                     [(f"41111111111111{n:02d}", 9.5) for n in range(100)
                      if not _luhn(f"41111111111111{n:02d}")])


def _luhn(number: str) -> bool:
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, dlpd_config: Any,
            scan_jsonl: Any) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("databases")
    root = tmp / "tree"
    root.mkdir()
    sqlite_file(root / "study.db", study)
    sqlite_file(root / "places.sqlite", places)
    sqlite_file(root / "payments.db", failing_cards)
    inner = sqlite_file(tmp / "inner.db", study).read_bytes()
    with zipfile.ZipFile(root / "export.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("backup/inner.db", inner)
    table = pa.table({"social_security_number": [f"{234567100 + n}" for n in range(200)]})
    pq.write_table(table, root / "cohort.parquet", compression="snappy")
    (root / "broken.db").write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    # SQLCipher: no header, random pages; read as unknown bytes, like any such file.
    (root / "vault.db").write_bytes(os.urandom(8192))
    run = scan_jsonl(root, config=dlpd_config(tmp), args=("--no-cache",))
    run.assert_finished_cleanly()
    return {Path(path).name: rec for path, rec in run.by_path().items()}


def detections(rec: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(d["rule"], d["member"]): d for d in rec["detections"]}


def test_columns_name_their_values_for_the_shipped_rules(
        scanned: dict[str, dict[str, Any]]) -> None:
    rec = scanned["study.db"]
    assert rec["outcome"] == "ok", rec
    found = detections(rec)
    ssn = found[("us_ssn_unformatted", "study.db!participants")]
    assert ssn["count"] == 39
    assert ssn["confidence"] == "medium"
    assert ("credit_card_number", "study.db!participants") in found
    assert ("jp_my_number", "study.db!participants") in found
    assert ("credential_password", "study.db!accounts") in found


def test_database_in_an_archive_names_the_table(scanned: dict[str, dict[str, Any]]) -> None:
    found = detections(scanned["export.zip"])
    assert ("us_ssn_unformatted", "export.zip!backup/inner.db!participants") in found


def test_parquet_values_hidden_by_compression_are_found(
        scanned: dict[str, dict[str, Any]]) -> None:
    found = detections(scanned["cohort.parquet"])
    assert found[("us_ssn_unformatted", "cohort.parquet!table")]["count"] == 200


@pytest.mark.parametrize("name", ["places.sqlite", "payments.db", "vault.db"])
def test_look_alikes_stay_quiet(scanned: dict[str, dict[str, Any]], name: str) -> None:
    rec = scanned[name]
    assert rec["outcome"] == "ok", rec
    assert rec["detections"] == []


def test_a_damaged_database_is_an_error_with_a_reason(
        scanned: dict[str, dict[str, Any]]) -> None:
    rec = scanned["broken.db"]
    assert rec["outcome"] == "error"
    assert rec["reason"] in ("broken.db: not a database (encrypted or damaged)",
                             "broken.db: malformed database")


def test_a_big_table_is_cut_and_says_so(tmp_path: Path, dlpd_config: Any,
                                        scan_jsonl: Any) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY, value REAL)")
        conn.executemany("INSERT INTO readings (value) VALUES (?)",
                         ((n / 7,) for n in range(200_000)))

    path = sqlite_file(tmp_path / "sensor.db", build)
    run = scan_jsonl(path, config=dlpd_config(tmp_path / "cfg"), args=("--no-cache",))
    run.assert_finished_cleanly()
    rec = run.records()[0]
    assert rec["outcome"] == "limit_exceeded"
    assert rec["reason"] == "max_table_rows: table 'readings': first 10000 rows read"

