"""The local store through the stdlib's sqlite3 (``store.direct``), as `dlpd scan` opens
it: the same file, pragmas, schema check and errors as through SQLAlchemy's engine.

Real SQLite files; the engine creates or migrates them, as in the product.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from dlpd.errors import StoreError
from dlpd.model import Confidence, Detection, FileResult, FileStat, Outcome
from dlpd.store import files as repo
from dlpd.store import presence
from dlpd.store.db import EngineStore, open_engine
from dlpd.store.direct import DirectStore, open_direct
from dlpd.store.revision import HEAD_REVISION
from dlpd.store.sql import Transactions
from dlpd.store.sqlite_file import plain_sqlite_path, sqlite_path

OLD = time.time_ns() - 10**10  # well before any scan start: not racy
CARD = Detection("card", "credit-card", Confidence.HIGH, 2, "a.zip!b.csv",
                 ("4111 **** **** 1111",), ("validator luhn: 2 confirmed",))


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dlpd.db'}"


def _created(tmp_path: Path) -> DirectStore:
    url = _url(tmp_path)
    open_engine(url).dispose()
    store = open_direct(url)
    assert store is not None
    return store


def _result(path: str, dets: tuple[Detection, ...] = ()) -> FileResult:
    return FileResult(path, Outcome.OK, 10, "ab" * 32, "text/plain", detections=dets,
                      labels=("financial",) if dets else (),
                      stat=FileStat(1, 2, 10, OLD, OLD))


def _save(store: Transactions, results: list[FileResult], host: str = "h") -> None:
    with store.transaction() as sql:
        repo.save_results(sql, results, host=host, rules_version="v1",
                          scan_started_ns=time.time_ns(), now=time.time())


# -- the URL --------------------------------------------------------------------------

_PATH_TEXT = st.lists(st.sampled_from([*"ab/._- é機#@\\", "%20", "%2F", "?x=1", ":memory:"]),
                      max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(tail=_PATH_TEXT, prefix=st.sampled_from(["sqlite:///", "sqlite:////", "sqlite://",
                                                "sqlite+pysqlite:///", "SQLITE:///",
                                                "postgresql:///", "sqlite:/"]))
def test_the_store_file_is_where_sqlalchemy_reads_the_url(prefix: str, tail: str) -> None:
    """The plain form is read without SQLAlchemy: wherever it answers, SQLAlchemy's parser
    gives the same file, and every other URL is left to that parser."""
    url = prefix + tail
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        expected = None
    else:
        expected = (parsed.database if parsed.get_backend_name() == "sqlite"
                    and parsed.database not in (None, "", ":memory:") else None)
    assert sqlite_path(url) == expected
    plain = plain_sqlite_path(url)
    assert plain is None or plain == expected


# -- opening --------------------------------------------------------------------------

def test_only_a_plain_sqlite_file_at_head_is_opened_directly(tmp_path: Path) -> None:
    url = _url(tmp_path)
    assert open_direct(url) is None  # no file yet: the engine creates it
    assert not (tmp_path / "dlpd.db").exists()
    open_engine(url).dispose()
    store = open_direct(url)
    assert store is not None and store.revision() == HEAD_REVISION
    store.close()
    assert open_direct(url + "?timeout=5") is None  # options are SQLAlchemy's to read
    assert open_direct("postgresql://u@db.invalid/dlpd") is None
    assert open_direct("sqlite:///:memory:") is None
    # A file that is no dlpd store, and one at another revision: the engine's to judge.
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    assert open_direct(f"sqlite:///{other}") is None
    with sqlite3.connect(tmp_path / "dlpd.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0007'")
    conn.close()
    assert open_direct(url) is None
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert open_direct(f"sqlite:///{tmp_path / 'junk.db'}") is None


def test_a_shared_store_directory_is_reported_as_the_engine_does(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _created(tmp_path).close()
    os.chmod(tmp_path, 0o777)
    with caplog.at_level(logging.WARNING, logger="dlpd.store"):
        store = open_direct(_url(tmp_path))
    assert store is not None
    store.close()
    assert "writable by group or others" in caplog.text


def test_connections_get_the_stores_pragmas(tmp_path: Path) -> None:
    store = _created(tmp_path)
    with store.transaction() as sql:
        assert sql.rows("PRAGMA journal_mode").fetchone() == ("wal",)
        assert sql.rows("PRAGMA foreign_keys").fetchone() == (1,)
        assert sql.rows("PRAGMA busy_timeout").fetchone() == (10000,)
    store.close()


# -- transactions -----------------------------------------------------------------------

def test_a_transaction_commits_at_its_end_and_rolls_back_on_failure(tmp_path: Path) -> None:
    store = _created(tmp_path)
    _save(store, [_result("/d/a.txt")])
    with pytest.raises(RuntimeError), store.transaction() as sql:
        repo.save_results(sql, [_result("/d/b.txt")], host="h", rules_version="v1",
                          scan_started_ns=time.time_ns(), now=time.time())
        raise RuntimeError("the scan failed half-way")
    with store.transaction() as sql:
        assert repo.paths_under(sql, "/d", host="h") == ["/d/a.txt"]
    store.close()


def test_a_database_failure_is_a_store_error_in_the_drivers_words(tmp_path: Path) -> None:
    store = _created(tmp_path)
    with pytest.raises(StoreError, match=r"^database: OperationalError: no such table: nope"), \
            store.transaction() as sql:
        sql.run("DELETE FROM nope")
    with store.transaction() as sql:  # the connection was given back usable
        assert repo.cached_file(sql, "/d/a.txt", host="h") is None
    store.close()


def test_a_locked_store_waits_for_the_writer(tmp_path: Path) -> None:
    """busy_timeout: a scan whose write meets the daemon's open transaction waits for it
    (here: another process holding the write lock for a second) instead of failing."""
    store = _created(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1]); c.execute('BEGIN IMMEDIATE')\n"
         "print('locked', flush=True); time.sleep(1); c.rollback()",
         str(tmp_path / "dlpd.db")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    started = time.monotonic()
    _save(store, [_result("/d/a.txt")])
    assert time.monotonic() - started > 0.3
    assert holder.wait(timeout=30) == 0
    store.close()


# -- the same rows through either way ----------------------------------------------------

def test_both_ways_read_and_write_the_same_rows(tmp_path: Path) -> None:
    """Written directly, read through the engine, and the other way round; forgetting a
    file takes its detections (foreign keys are on in both)."""
    direct = _created(tmp_path)
    engine = EngineStore(open_engine(_url(tmp_path)))
    _save(direct, [_result("/d/a.zip", (CARD,)), _result("/d/x.txt")])
    _save(engine, [_result("/d/sub/y.txt", (CARD,))])
    for store in (direct, engine):
        with store.transaction() as sql:
            cache = {k: c for k, c in repo.stored_children(sql, "/d", host="h")}
            assert sorted(cache) == [b"/d/a.zip", b"/d/sub", b"/d/x.txt"]
            assert cache[b"/d/sub"] is None
            a = cache[b"/d/a.zip"]
            assert a is not None and a.is_fresh(FileStat(1, 2, 10, OLD, OLD), "v1")
            assert repo.load_detections(sql, [a.id]) == {a.id: (CARD,)}
            assert repo.cached_result("/d/a.zip", a, (CARD,)).labels == ("financial",)
    with direct.transaction() as sql:
        assert repo.forget(sql, [b"/d/a.zip"], ["/d/sub"], host="h") == 2
        assert sql.rows("SELECT count(*) FROM detections").fetchone() == (0,)
    with engine.transaction() as sql:
        assert repo.paths_under(sql, "/", host="h") == ["/d/x.txt"]
    direct.close()
    engine.engine.dispose()


def test_whether_anything_is_labelled(tmp_path: Path) -> None:
    """What decides whether `dlpd scan` may go without SQLAlchemy: an active assignment
    on this host, or any registered source."""
    store = _created(tmp_path)
    with store.transaction() as sql:
        assert not presence.any_label(sql, "fs-a") and presence.source_kinds(sql) == set()
        sql.run("INSERT INTO label_assignments (host, path_key, path, is_dir, label, source, "
                "set_by, set_uid, note, set_at, removed) VALUES "
                "('fs-a', X'2f64', '/d', 1, 'x', 'explicit', 'u', 1, '', 1.0, 2.0)")
        assert not presence.any_label(sql, "fs-a")  # removed: not active
        sql.run("INSERT INTO label_assignments (host, path_key, path, is_dir, label, source, "
                "set_by, set_uid, note, set_at) VALUES "
                "('fs-a', X'2f64', '/d', 1, 'x', 'explicit', 'u', 1, '', 3.0)")
        assert presence.any_label(sql, "fs-a") and not presence.any_label(sql, "fs-b")
    store.close()
