"""`dlpd alerts ...` and `dlpd access list` on a real store, through the real CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dlpd.daemon.access_log import AccessAggregator
from dlpd.model import Alert, AlertStatus, Severity
from dlpd.store import alerts as repo
from dlpd.store.db import open_engine, transaction

SINKS = (repo.SinkRoute("hook"),)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    db = tmp_path / "dlpd.db"
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as conn:
        for n, (path, sev) in enumerate([("/home/a/x|y=z.dwg", "high"),
                                         ("/media/usb0/b.txt", "critical"),
                                         ("/home/a/c.txt", "low")]):
            now = 1_700_000_000.0 + n
            repo.raise_alert(conn, Alert(
                id=0, created=now, updated=now, host="lab-fs-01", path=path,
                sha256=f"{n:064x}", label="export-controlled", labels=("export-controlled",),
                categories=("export-control",), rules=("itar_marking",),
                severity=Severity.parse(sev),
                reason="label export-controlled may only live under /data/itar",
                provenance="copy of /data/itar/x.dwg", status=AlertStatus.OPEN), SINKS)
    agg = AccessAggregator(60, host="fs-a")
    agg.record("/home/a/x|y=z.dwg", "moved", ("export-controlled",), 1_700_000_000.0,
               src_path="/data/itar/x.dwg")
    agg.record("/srv/other", "deleted", ("pii",), 1_700_000_001.0)
    agg.flush(engine, 1_700_000_002.0)
    path = tmp_path / "c.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n'
                    '[[sinks]]\ntype = "jsonl"\nname = "hook"\n'
                    f'path = "{tmp_path / "alerts.jsonl"}"\n')
    return path


def test_list_filters_and_formats(cfg: Path, run_dlpd: Callable[..., Any]) -> None:
    res = run_dlpd("alerts", "list", "--config", cfg, "--severity", "high", "--format", "jsonl")
    assert [r["path"] for r in res.records()] == ["/home/a/x|y=z.dwg", "/media/usb0/b.txt"]
    res = run_dlpd("alerts", "list", "--config", cfg, "--path", "/home/a")
    lines = res.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["id", "created", "severity"] and len(lines) == 3
    res = run_dlpd("alerts", "list", "--config", cfg, "--since", "2023-11-14T22:13:21+00:00",
                   "--format", "json")
    assert len(json.loads(res.stdout)) == 2
    bad = run_dlpd("alerts", "list", "--config", cfg, "--since", "last tuesday")
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr


def test_triage_records_who_and_why_and_queues_an_update(
        cfg: Path, run_dlpd: Callable[..., Any]) -> None:
    res = run_dlpd("alerts", "false-positive", "3", "--note", "test fixture",
                   "--author", "eve", "--config", cfg)
    assert res.returncode == 0, res.describe()
    listed = run_dlpd("alerts", "list", "--config", cfg, "--format", "jsonl").records()
    assert [a["id"] for a in listed] == [1, 2], "active alerts only, by default"
    everything = run_dlpd("alerts", "list", "--status", "all", "--config", cfg,
                          "--format", "jsonl").records()
    assert everything[2]["status"] == "false-positive"
    assert everything[2]["notes"][0]["author"] == "eve"
    missing = run_dlpd("alerts", "ack", "99", "--config", cfg)
    assert missing.returncode == 2 and "no alert 99" in missing.stderr
    db = cfg.parent / "dlpd.db"
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as conn:
        kinds = [r.kind for r in conn.exec_driver_sql("SELECT kind FROM outbox ORDER BY id")]
    assert kinds == ["alert.created"] * 3 + ["alert.updated"]


def test_export_ecs_and_cef(cfg: Path, run_dlpd: Callable[..., Any]) -> None:
    ecs = run_dlpd("alerts", "export", "--format", "ecs", "--config", cfg).records()
    assert len(ecs) == 3
    first = ecs[0]
    assert first["event"]["kind"] == "alert"
    assert first["file"]["path"] == "/home/a/x|y=z.dwg"
    assert first["file"]["hash"]["sha256"] == f"{0:064x}"
    assert "itar_marking" in json.dumps(first["rule"])
    cef = run_dlpd("alerts", "export", "--format", "cef", "--config", cfg).stdout.splitlines()
    assert len(cef) == 3
    header = re.split(r"(?<!\\)\|", cef[0], maxsplit=7)
    assert header[0] == "CEF:0" and header[1] == "dlpd" and len(header) == 8
    # CEF extension escaping: '=' in a value is escaped, '|' is not (only in the header).
    assert r"x|y\=z.dwg" in header[7]


def test_access_list(cfg: Path, run_dlpd: Callable[..., Any]) -> None:
    rows = run_dlpd("access", "list", "--config", cfg, "--label", "export-controlled",
                    "--format", "jsonl").records()
    assert [(r["kind"], r["src_path"]) for r in rows] == [("moved", "/data/itar/x.dwg")]
    table = run_dlpd("access", "list", "--config", cfg, "--path", "/srv").stdout
    assert "/srv/other" in table and "deleted" in table and "/home/a" not in table


def test_access_list_by_kind(cfg: Path, run_dlpd: Callable[..., Any]) -> None:
    deleted = run_dlpd("access", "list", "--config", cfg, "--kind", "deleted",
                       "--format", "jsonl").records()
    assert [(r["path"], r["kind"]) for r in deleted] == [("/srv/other", "deleted")]
    both = run_dlpd("access", "list", "--config", cfg, "--kind", "deleted", "--kind", "moved",
                    "--format", "jsonl").records()
    assert sorted(r["kind"] for r in both) == ["deleted", "moved"]
    bad = run_dlpd("access", "list", "--config", cfg, "--kind", "read")
    assert bad.returncode == 2 and "opened" in bad.stderr
