"""The files repository on a real SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, select

from dlpd.model import Confidence, Detection, FileResult, FileStat, Outcome
from dlpd.store import files as repo
from dlpd.store.db import open_engine
from dlpd.store.paths import real, under
from dlpd.store.schema import files


def _result(path: str, mtime_ns: int, dets: tuple[Detection, ...] = ()) -> FileResult:
    return FileResult(
        path=path, outcome=Outcome.OK, size=10, sha256="ab" * 32, mime="text/plain",
        detections=dets, labels=("financial",) if dets else (),
        stat=FileStat(dev=1, inode=2, size=10, mtime_ns=mtime_ns, ctime_ns=mtime_ns),
    )


def test_schema_is_migrated_once_and_reopened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sub/dir/dlpd.db"
    open_engine(url).dispose()
    engine = open_engine(url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert {"files", "detections", "scans", "alembic_version"} <= tables
    assert mode == "wal"


def test_round_trip_and_freshness(store_url: str) -> None:
    engine = open_engine(store_url)
    det = Detection("card", "credit-card", Confidence.HIGH, 2, "a.zip!b.csv",
                    ("4111 **** **** 1111",), ("validator luhn: 2 confirmed",))
    old = time.time_ns() - 10**10  # well before the scan start: not racy
    with engine.begin() as conn:
        repo.save_results(conn, [_result("/d/a.zip", old, (det,)), _result("/d/x.txt", old)],
                          host="h", rules_version="v1", scan_started_ns=time.time_ns(),
                          now=time.time())
    with engine.begin() as conn:
        cache = {real(k): f for k, f in repo.stored_children(conn, "/d", host="h")
                 if f is not None}
        dets = repo.load_detections(conn, [c.id for c in cache.values() if c.has_findings])
    assert set(cache) == {"/d/a.zip", "/d/x.txt"}
    a = cache["/d/a.zip"]
    assert dets[a.id] == (det,)
    assert a.is_fresh(FileStat(1, 2, 10, old, old), "v1")
    assert not a.is_fresh(FileStat(1, 2, 11, old, old), "v1"), "size changed"
    assert not a.is_fresh(FileStat(1, 3, 10, old, old), "v1"), "inode changed"
    assert not a.is_fresh(FileStat(1, 2, 10, old, old), "v2"), "rules changed"
    result = repo.cached_result("/d/a.zip", a, dets[a.id])
    assert result.cached and result.labels == ("financial",) and result.categories == (
        "credit-card",)


def test_rescan_replaces_detections(store_url: str) -> None:
    engine = open_engine(store_url)
    det = Detection("card", "credit-card", Confidence.HIGH, 1)
    old = time.time_ns() - 10**10
    for dets in ((det,), ()):
        with engine.begin() as conn:
            repo.save_results(conn, [_result("/d/a.csv", old, dets)], host="h",
                              rules_version="v1",
                              scan_started_ns=time.time_ns(), now=time.time())
    with engine.begin() as conn:
        assert conn.execute(sa.text("select count(*) from detections")).scalar() == 0
        assert conn.execute(sa.text("select count(*) from files")).scalar() == 1


def test_racy_files_are_not_fresh(store_url: str) -> None:
    engine = open_engine(store_url)
    now = time.time_ns()
    with engine.begin() as conn:
        repo.save_results(conn, [_result("/d/new.txt", now)], host="h",
                          rules_version="v1",
                          scan_started_ns=now, now=time.time())
        cache = {real(k): f for k, f in repo.stored_children(conn, "/d", host="h")
                 if f is not None}
    assert cache["/d/new.txt"].racy
    assert not cache["/d/new.txt"].is_fresh(FileStat(1, 2, 10, now, now), "v1")


def _stored_under(conn: Connection, root: str) -> set[str]:
    """The stored files below ``root`` by the path index's prefix range (``under``)."""
    rows = conn.execute(select(files.c.path_key).where(under(files.c.path_key, root)))
    return {real(row.path_key) for row in rows}


def test_prefix_query_does_not_leak_siblings(store_url: str) -> None:
    engine = open_engine(store_url)
    old = time.time_ns() - 10**10
    with engine.begin() as conn:
        repo.save_results(conn, [_result(p, old) for p in ("/d/a", "/d-2/b", "/d/sub/c", "/e")],
                          host="h", rules_version="v1", scan_started_ns=time.time_ns(),
                          now=time.time())
        assert _stored_under(conn, "/d") == {"/d/a", "/d/sub/c"}
        assert _stored_under(conn, "/d/") == {"/d/a", "/d/sub/c"}
        assert repo.delete_paths(conn, ["/d/a"], host="h") == 1
        assert _stored_under(conn, "/d") == {"/d/sub/c"}


def test_head_revision_constant_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from dlpd.store import db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == db.HEAD_REVISION
