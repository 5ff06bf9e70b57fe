"""Two hosts in one store: each one's cache rows and active alerts are its own, and
migration 0008 gives a single host's store this machine's name without losing its
cache."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from dlpd.model import (
    Alert,
    AlertStatus,
    Confidence,
    Detection,
    FileResult,
    FileStat,
    Outcome,
    Severity,
)
from dlpd.store import alerts
from dlpd.store import files as repo
from dlpd.store.db import Engine, open_engine, transaction
from dlpd.store.paths import real

OLD = time.time_ns() - 10**10


@pytest.fixture
def engine(store_url: str) -> Engine:
    return open_engine(store_url)


def _result(path: str, inode: int) -> FileResult:
    det = Detection("card", "credit-card", Confidence.HIGH, 1)
    return FileResult(path, Outcome.OK, 3, "c" * 64, "text/plain", None, (det,), ("pci",),
                      FileStat(1, inode, 3, OLD, OLD))


def _save(engine: Engine, host: str, paths: list[str], inode: int) -> None:
    with transaction(engine) as conn:
        repo.save_results(conn, [_result(p, inode) for p in paths], host=host,
                          rules_version="v", scan_started_ns=time.time_ns(), now=1.0)


def test_a_hosts_cache_is_its_own(engine: Engine) -> None:
    _save(engine, "fs-a", ["/data/x", "/data/sub/y"], inode=1)
    _save(engine, "fs-b", ["/data/x", "/data/z"], inode=2)
    with transaction(engine) as conn:
        a = {real(k): c for k, c in repo.stored_children(conn, "/data", host="fs-a")}
        b = {real(k): c for k, c in repo.stored_children(conn, "/data", host="fs-b")}
        assert set(a) == {"/data/x", "/data/sub"} and set(b) == {"/data/x", "/data/z"}
        assert a["/data/x"] is not None and a["/data/x"].inode == 1
        assert b["/data/x"] is not None and b["/data/x"].inode == 2
        one = repo.cached_file(conn, "/data/x", host="fs-b")
        assert one is not None and one.inode == 2
        assert repo.cached_file(conn, "/data/z", host="fs-a") is None
        # fs-a's crawl finds /data gone: fs-b's rows stay, detections too.
        assert repo.forget(conn, [], ["/data"], host="fs-a") == 2
        assert repo.delete_paths(conn, ["/data/x"], host="fs-a") == 1
        assert [real(k) for k, _ in repo.stored_children(conn, "/data", host="fs-a")] == []
        left = {real(k) for k, _ in repo.stored_children(conn, "/data", host="fs-b")}
        assert left == {"/data/x", "/data/z"}
        assert repo.labelled_paths(conn, host="fs-b") == {"/data/x": ("pci",),
                                                          "/data/z": ("pci",)}
        assert repo.labelled_paths(conn, host="fs-a") == {}
        assert sorted(repo.copies_of(conn, "c" * 64)) == [("fs-b", "/data/x"),
                                                          ("fs-b", "/data/z")]


def _alert(host: str) -> Alert:
    return Alert(id=0, created=1.0, updated=1.0, host=host, path="/data/x", sha256="d" * 64,
                 label="export", labels=("export",), categories=("itar",), rules=("itar",),
                 severity=Severity.HIGH, reason="r", provenance=None, status=AlertStatus.OPEN)


def test_one_active_alert_per_host_path_content_and_label(engine: Engine) -> None:
    with transaction(engine) as conn:
        a = alerts.raise_alert(conn, _alert("fs-a"), [])
        b = alerts.raise_alert(conn, _alert("fs-b"), [])
        assert a is not None and b is not None and a.id != b.id
        # The database holds the line, not an in-memory index: the same again is nothing.
        assert alerts.raise_alert(conn, _alert("fs-a"), []) is None
        assert alerts.active_id(conn, "/data/x", "d" * 64, "export", host="fs-b") == b.id
        assert [x.id for x in alerts.load_active(conn, "fs-a")] == [a.id]


def test_migration_0008_names_this_host_and_keeps_the_cache(tmp_path: Path) -> None:
    # SQLite: the table copy that drops UNIQUE(path_key) must not cascade to detections.
    from alembic import command
    from alembic.config import Config

    from dlpd.store import db

    url = f"sqlite:///{tmp_path}/old.db"
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.attributes["engine"] = sa.create_engine(url)
    command.upgrade(cfg, "0007")
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO files (id, path_key, path, dev, inode, size, mtime_ns, ctime_ns, "
            "racy, outcome, labels, categories, last_scan, rules_version) VALUES "
            "(7, X'2f612f62', '/a/b', 1, 2, 3, 4, 5, 0, 'ok', '[]', '[\"pci\"]', 1.0, 'v')"))
        conn.execute(sa.text(
            "INSERT INTO detections (file_id, rule, category, confidence, count, previews, "
            "reasons) VALUES (7, 'card', 'credit-card', 'high', 1, '[]', '[]')"))
    engine = open_engine(url)  # migrates, with dlpd's pragmas (foreign keys on)
    with transaction(engine) as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            "0008"
        cached = repo.cached_file(conn, "/a/b", host=socket.gethostname())
        assert cached is not None and cached.id == 7
        assert list(repo.load_detections(conn, [7])) == [7]
    # No default is left behind: a writer that names no host fails.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO scans (started, roots, files, read, found, errors, rules_version) "
            "VALUES (1, '[]', 0, 0, 0, 0, 'v')"))
