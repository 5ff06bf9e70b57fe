"""The access log aggregates repeats into one row per (file, kind, actor, window)."""

from __future__ import annotations

from pathlib import Path

from dlpd.daemon.access_log import AccessAggregator
from dlpd.model import Actor
from dlpd.store import access
from dlpd.store.db import open_engine, transaction

JOB = Actor(7, uid=1000, user="alice", gid=1000, ppid=1, exe="/opt/lab/bin/job",
            cmdline="job --input /d/x")
OTHER = Actor(8, uid=1000, user="alice", gid=1000, ppid=1, exe="/usr/bin/other",
              cmdline="other")


def test_a_million_reads_are_one_row_a_window(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/dlpd.db")
    agg = AccessAggregator(window=60.0, host="fs-a")
    for i in range(100_000):
        agg.record("/d/x", "opened", ("pii",), 1000.0 + i * 0.0001, actor=JOB)
    agg.flush(engine, 1010.0)
    for _ in range(5):
        agg.record("/d/x", "opened", ("pii",), 1020.0, actor=JOB)
    agg.record("/d/x", "opened", ("pii",), 1020.0, actor=OTHER)
    agg.record("/d/x", "modified", ("pii",), 1020.0)
    agg.flush(engine, 1021.0)
    agg.record("/d/x", "opened", ("pii",), 1100.0, actor=JOB)
    agg.flush(engine, 1100.0)
    with transaction(engine) as conn:
        rows = access.query(conn)
    summary = [(r.kind, r.pid, r.count, r.first, r.last) for r in rows]
    # The actor as the store gives it back: every field of it, the program's name too.
    assert rows[0].actor == JOB and rows[0].process == "job"
    assert rows[1].actor == OTHER and rows[2].actor is None
    assert summary == [
        ("opened", 7, 100_005, 1000.0, 1020.0),
        ("opened", 8, 1, 1020.0, 1020.0),
        ("modified", None, 1, 1020.0, 1020.0),
        ("opened", 7, 1, 1100.0, 1100.0),  # a new window, a new row
    ]
    assert len(agg) == 1, "closed windows are forgotten"


def test_query_by_label_path_and_time(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/dlpd.db")
    agg = AccessAggregator(window=1.0, host="fs-a")
    agg.record("/a/1", "created", ("pii",), 10.0)
    agg.record("/a/2", "created", ("pii-extra",), 20.0)
    agg.record("/b/3", "deleted", ("export",), 30.0)
    agg.flush(engine, 31.0)
    with transaction(engine) as conn:
        assert [r.path for r in access.query(conn, labels=["pii"])] == ["/a/1"]
        assert [r.path for r in access.query(conn, path_prefix="/a")] == ["/a/1", "/a/2"]
        assert [r.path for r in access.query(conn, since=25.0)] == ["/b/3"]
