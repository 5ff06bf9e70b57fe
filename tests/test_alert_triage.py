"""What analysts need from alerts (issue 8): filters, one false-positive decision for every
copy, what the scan knew in `alerts show`, export defaults. A real store, the real CLI."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from dlpd.model import Alert, AlertDetails, AlertStatus, Confidence, Detection, Severity
from dlpd.store import alerts as repo
from dlpd.store import db
from dlpd.store.db import open_engine, transaction

SINKS = (repo.SinkRoute("hook"),)
SAME = "ab" * 32  # one content, copied around
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def _alert(path: str, *, sha256: str = SAME, label: str = "export-controlled",
           host: str = "lab-fs-01", categories: tuple[str, ...] = ("export-control",),
           created: float = T0, details: AlertDetails | None = None) -> Alert:
    return Alert(id=0, created=created, updated=created, host=host, path=path,
                 sha256=sha256, label=label, labels=(label,), categories=categories,
                 rules=("itar_marking",), severity=Severity.HIGH,
                 reason=f"label {label} may only live under /data/itar", provenance=None,
                 status=AlertStatus.OPEN, details=details)


DETAILS = AlertDetails(
    size=4096, mtime=T0 - 3600, uid=1000, gid=100, owner="alice\x1b[31m", group="staff",
    mime="text/plain", detections=(Detection(
        rule="itar_marking", category="export-control", confidence=Confidence.HIGH, count=2,
        member="inner\nname.txt", previews=("ITAR ****", "22 CFR ***\x07")),))


def _config(tmp_path: Path, db_path: Path) -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n\n'
                   '[[sinks]]\ntype = "jsonl"\nname = "hook"\n'
                   f'path = "{tmp_path / "alerts.jsonl"}"\n')
    return cfg


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path]:
    """Alerts 1-3: one content at three paths on two hosts; 4: the same content with
    another label; 5: other content (PII, on another day); 6: the same content, resolved."""
    path = tmp_path / "dlpd.db"
    engine = open_engine(f"sqlite:///{path}")
    with transaction(engine) as conn:
        for draft in (
            _alert("/home/a/x.dwg", details=DETAILS),
            _alert("/home/b/x.dwg", created=T0 + 1),
            _alert("/media/usb0/x.dwg", host="lab-ws-07", created=T0 + 2),
            _alert("/home/a/x.dwg", label="confidential", categories=("jp-confidential",),
                   created=T0 + 3),
            _alert("/home/c/card.txt", sha256="cd" * 32, label="pii",
                   categories=("credit-card", "us-ssn"), created=T0 + 86400),
            _alert("/srv/old/x.dwg", created=T0 + 5),
        ):
            assert repo.raise_alert(conn, draft, SINKS) is not None
        repo.set_status(conn, 6, AlertStatus.RESOLVED, author="dlpd", note="gone", now=T0 + 6,
                        sinks=SINKS)
    return _config(tmp_path, path), path


def _ids(run_dlpd: Callable[..., Any], cfg: Path, *args: str) -> list[int]:
    res = run_dlpd("alerts", "list", "--config", cfg, "--format", "jsonl", *args)
    assert res.returncode == 0, res.describe()
    return [int(r["id"]) for r in res.records()]


def test_list_filters(store: tuple[Path, Path], run_dlpd: Callable[..., Any]) -> None:
    cfg, _ = store
    assert _ids(run_dlpd, cfg, "--label", "confidential") == [4]
    assert _ids(run_dlpd, cfg, "--label", "confidential", "--label", "pii") == [4, 5]
    assert _ids(run_dlpd, cfg, "--category", "us-ssn") == [5]
    assert _ids(run_dlpd, cfg, "--category", "export-control") == [1, 2, 3]
    # A category is a whole element of the stored list, never part of one.
    assert _ids(run_dlpd, cfg, "--category", "export") == []
    assert _ids(run_dlpd, cfg, "--category", "credit-card", "--category", "jp-confidential") \
        == [4, 5]
    assert _ids(run_dlpd, cfg, "--sha256", SAME) == [1, 2, 3, 4]
    assert _ids(run_dlpd, cfg, "--sha256", "CDCDCDCD") == [5]
    assert _ids(run_dlpd, cfg, "--sha256", SAME, "--status", "all") == [1, 2, 3, 4, 6]
    assert _ids(run_dlpd, cfg, "--host", "lab-ws-07") == [3]
    assert _ids(run_dlpd, cfg, "--since", "2023-11-15T22:00:00Z") == [5]
    assert _ids(run_dlpd, cfg, "--until", "2023-11-14T22:13:22Z") == [1, 2]
    assert _ids(run_dlpd, cfg, "--since", "1h") == []
    for bad in (("--sha256", "abc"), ("--sha256", "zz" * 32), ("--since", "last tuesday"),
                ("--until", "2023-02-30")):
        res = run_dlpd("alerts", "list", "--config", cfg, *bad)
        assert res.returncode == 2 and bad[0] in res.stderr, res.describe()
        assert "Traceback" not in res.stderr
    assert "yesterday" in run_dlpd("alerts", "list", "--config", cfg,
                                   "--since", "soon").stderr


def test_false_positive_closes_every_copy_once(
        store: tuple[Path, Path], run_dlpd: Callable[..., Any]) -> None:
    cfg, path = store
    res = run_dlpd("alerts", "false-positive", "2", "--note", "public brochure",
                   "--author", "eve", "--config", cfg)
    assert res.returncode == 0, res.describe()
    assert res.stdout.splitlines() == [
        "alert 2: false-positive",
        "alert 1: false-positive (same content and label as alert 2)",
        "alert 3: false-positive (same content and label as alert 2)"]
    status = {r["id"]: r["status"] for r in run_dlpd(
        "alerts", "list", "--status", "all", "--config", cfg, "--format", "jsonl").records()}
    assert status == {1: "false-positive", 2: "false-positive", 3: "false-positive",
                      4: "open", 5: "open", 6: "resolved"}, "same label only; resolved stays"
    with sqlite3.connect(path) as conn:
        decisions = conn.execute("SELECT id, sha256, label, alert_id, author, note, lifted "
                                 "FROM false_positives").fetchall()
        kinds = [k for (k,) in conn.execute("SELECT kind FROM outbox WHERE id > 7 ORDER BY id")]
        notes = dict(conn.execute("SELECT alert_id, text FROM alert_notes WHERE author = 'eve'"))
    assert decisions == [(1, SAME, "export-controlled", 2, "eve", "public brochure", None)]
    assert kinds == ["alert.updated"] * 3, "each status change reaches the sinks"
    assert notes[1] == "same content as alert 2, false positive #1: public brochure"
    assert "false positive #1" in notes[2] and notes[2].startswith("public brochure")

    # The decision stands for new copies anywhere (what the daemon's Alerter asks for).
    engine = open_engine(f"sqlite:///{path}")
    with transaction(engine) as conn:
        assert repo.raise_alert(conn, _alert("/tmp/elsewhere"), SINKS) is None
        assert repo.raise_alert(conn, _alert("/tmp/elsewhere", label="pii"), SINKS) is not None

    shown = run_dlpd("alerts", "show", "3", "--config", cfg).stdout
    assert "false positive #1:" in shown and "eve on alert 2: public brochure; standing" in shown

    # Reopening any of them lifts the decision: the others reopen with it.
    res = run_dlpd("alerts", "reopen", "3", "--note", "not public after all", "--author",
                   "mallory", "--config", cfg)
    assert res.returncode == 0, res.describe()
    assert res.stdout.splitlines()[0] == "alert 3: open"
    assert _ids(run_dlpd, cfg, "--sha256", SAME, "--label", "export-controlled") == [1, 2, 3]
    with sqlite3.connect(path) as conn:
        (lifted_by,) = conn.execute("SELECT lifted_by FROM false_positives").fetchone()
        (note,) = conn.execute("SELECT text FROM alert_notes WHERE alert_id = 1 "
                               "ORDER BY id DESC LIMIT 1").fetchone()
    assert lifted_by == "mallory"
    assert note == "reopened with alert 3, false positive #1 lifted: not public after all"
    with transaction(engine) as conn:
        assert repo.raise_alert(conn, _alert("/tmp/elsewhere"), SINKS) is not None
    shown = run_dlpd("alerts", "show", "3", "--config", cfg, "--format", "json").records()[0]
    assert shown["false_positives"][0]["lifted_by"] == "mallory"


def test_show_gives_what_the_scan_knew_escaped(
        store: tuple[Path, Path], run_dlpd: Callable[..., Any]) -> None:
    cfg, _ = store
    res = run_dlpd("alerts", "show", "1", "--config", cfg)
    assert res.returncode == 0, res.describe()
    text = res.stdout
    assert "4096 bytes" in text and "type text/plain" in text
    assert r"alice\x1b[31m (uid 1000)" in text and "staff (gid 100)" in text
    assert "itar_marking  export-control  confidence high  count 2  in inner\\nname.txt" in text
    assert r"previews: ITAR ****, 22 CFR ***\x07" in text
    assert "\x1b" not in text and "\x07" not in text
    assert len(text.splitlines()) == text.count("\n")
    details = run_dlpd("alerts", "show", "1", "--config", cfg, "--format", "json") \
        .records()[0]["details"]
    assert details["uid"] == 1000 and details["owner"] == "alice\x1b[31m"
    assert details["detections"][0]["confidence"] == "high"
    assert details["detections"][0]["previews"] == ["ITAR ****", "22 CFR ***\x07"]
    older = run_dlpd("alerts", "show", "2", "--config", cfg).stdout
    assert "file:        not recorded" in older


def test_export_defaults_to_active_and_ecs_times_are_iso(
        store: tuple[Path, Path], run_dlpd: Callable[..., Any]) -> None:
    cfg, _ = store
    run_dlpd("alerts", "ack", "1", "--note", "looking", "--config", cfg)
    docs = run_dlpd("alerts", "export", "--format", "ecs", "--config", cfg).records()
    assert [d["dlpd"]["alert_id"] for d in docs] == [1, 2, 3, 4, 5], "not the resolved 6"
    every = run_dlpd("alerts", "export", "--format", "cef", "--status", "all",
                     "--config", cfg).stdout.splitlines()
    assert len(every) == 6
    assert len(run_dlpd("alerts", "export", "--format", "ecs", "--label", "pii",
                        "--config", cfg).records()) == 1
    first = docs[0]
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    times = [first["@timestamp"], first["event"]["created"], first["dlpd"]["created"],
             first["dlpd"]["updated"], first["file"]["mtime"],
             *(n["time"] for n in first["dlpd"]["notes"])]
    assert len(times) == 6
    for t in times:
        assert isinstance(t, str)
        assert re.fullmatch(iso, t), t
    assert first["file"]["uid"] == "1000" and first["file"]["owner"] == "alice\x1b[31m"
    assert first["file"]["size"] == 4096


def test_migration_0003_to_0004_keeps_alerts(tmp_path: Path,
                                             run_dlpd: Callable[..., Any]) -> None:
    path = tmp_path / "old.db"
    eng = sa.create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.attributes["engine"] = eng
    command.upgrade(cfg, "0003")
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO alerts (created, updated, host, path_key, path, sha256, label, "
            "labels, categories, rules, severity, reason, provenance, status) VALUES "
            "(?, ?, 'h', ?, '/home/a/x', ?, 'export-controlled', '[\"export-controlled\"]', "
            "'[\"export-control\"]', '[\"itar_marking\"]', 'high', 'why', NULL, 'open')",
            (T0, T0, b"/home/a/x", SAME))
        conn.exec_driver_sql(
            "INSERT INTO alert_notes (alert_id, time, author, text, status) "
            "VALUES (1, ?, 'bob', 'looking', NULL)", (T0 + 1,))
    eng.dispose()
    cfg_path = _config(tmp_path, path)
    shown = run_dlpd("alerts", "show", "1", "--config", cfg_path)
    assert shown.returncode == 0, shown.describe()
    assert "file:        not recorded" in shown.stdout and "looking" in shown.stdout
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        assert version == (db.HEAD_REVISION,)
    res = run_dlpd("alerts", "false-positive", "1", "--author", "eve", "--note", "old store",
                   "--config", cfg_path)
    assert res.returncode == 0, res.describe()
    with transaction(open_engine(f"sqlite:///{path}")) as conn:
        (alert,) = repo.query(conn, statuses=["false-positive"])
        assert alert.details is None and [n.author for n in alert.notes] == ["bob", "eve"]
