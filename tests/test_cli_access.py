"""`dlpd access list --user` and `dlpd access top`: who did what to labelled files, and
who did the most. A real store written by the daemon's aggregator, the real CLI."""

from __future__ import annotations

import pwd
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dlpd.daemon.access_log import AccessAggregator
from dlpd.model import AccessKind, Actor
from dlpd.store.db import open_engine

T0 = 1_700_000_000.0
NOBODY = pwd.getpwnam("nobody").pw_uid


def _actor(pid: int, uid: int, user: str, exe: str) -> Actor:
    return Actor(pid=pid, uid=uid, user=user, gid=uid, ppid=1, exe=exe,
                 cmdline=f"{exe.rsplit('/', 1)[-1]} /data/itar/k17/spec.docx")


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    db = tmp_path / "dlpd.db"
    engine = open_engine(f"sqlite:///{db}")
    agg = AccessAggregator(window=60.0, host="fs-a")
    rsync = _actor(10, NOBODY, "nobody", "/usr/bin/rsync")
    cat = _actor(11, NOBODY, "nobody", "/usr/bin/cat")
    python = _actor(12, 0, "root", "/usr/bin/python3.11")
    for n in range(40):  # one process reading 20 files twice
        agg.record(f"/data/itar/k17/part{n % 20}.step", AccessKind.OPENED,
                   ("export-controlled",), T0 + n, actor=rsync)
    for n in range(3):
        agg.record("/data/itar/k17/spec.docx", AccessKind.OPENED, ("export-controlled",),
                   T0 + n, actor=cat)
    agg.record("/data/pii/cohort.csv", AccessKind.OPENED, ("pii",), T0, actor=python)
    agg.record("/data/itar/k17/old.docx", AccessKind.DELETED, ("export-controlled",), T0)
    agg.flush(engine, T0 + 100)
    engine.dispose()
    path = tmp_path / "dlpd.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    return path


def test_access_list_by_user_name_or_uid(cfg: Path, run_dlpd: Callable[..., Any]) -> None:
    by_name = run_dlpd("access", "list", "--config", cfg, "--user", "nobody",
                       "--format", "jsonl").records()
    assert len(by_name) == 21 and {r["user"] for r in by_name} == {"nobody"}
    assert {r["process"] for r in by_name} == {"rsync", "cat"}
    assert by_name[-1]["cmdline"] == "cat /data/itar/k17/spec.docx"
    by_uid = run_dlpd("access", "list", "--config", cfg, "--user", str(NOBODY),
                      "--format", "jsonl").records()
    assert by_uid == by_name
    table = run_dlpd("access", "list", "--config", cfg, "--user", "root").stdout
    assert "root (uid 0) python3.11 [pid 12]" in table and "rsync" not in table
    unknown = run_dlpd("access", "list", "--config", cfg, "--user", "no-such-user-x")
    assert unknown.returncode == 2 and "no user 'no-such-user-x'" in unknown.stderr


def test_access_top_ranks_users_and_programs(cfg: Path,
                                             run_dlpd: Callable[..., Any]) -> None:
    top = run_dlpd("access", "top", "--config", cfg, "--label", "export-controlled",
                   "--format", "jsonl").records()
    assert [(r["user"], r["process"], r["events"], r["files"]) for r in top] == [
        ("nobody", "rsync", 40, 20), ("nobody", "cat", 3, 1)]
    everyone = run_dlpd("access", "top", "--config", cfg, "--format", "jsonl").records()
    assert [r["process"] for r in everyone] == ["rsync", "cat", "python3.11"]
    # The deletion has no actor (inotify could not tell): not counted for anyone.
    assert sum(r["events"] for r in everyone) == 44
    table = run_dlpd("access", "top", "--config", cfg, "--limit", "1").stdout
    assert "rsync" in table and "python3.11" not in table
