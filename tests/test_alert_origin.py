"""`dlpd alerts show` and `--format json` give the origin of a label no detection gave
(a copy, an extract, a labelled directory) as fields, every byte escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlpd.model import Alert, AlertDetails, AlertStatus, Origin, Severity
from dlpd.store import alerts as repo
from dlpd.store.db import open_engine, transaction

HOSTILE = "/data/itar/k17/spec\x1b[2J\n.docx"


def _store(tmp_path: Path, origin: Origin | None) -> Path:
    db = tmp_path / "dlpd.db"
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as conn:
        repo.raise_alert(conn, Alert(
            id=0, created=1_793_577_600.0, updated=1_793_577_600.0, host="fs-b",
            path="/home/student/thesis/draft.docx", sha256="ab" * 32,
            label="export-controlled", labels=("export-controlled",), categories=(),
            rules=(), severity=Severity.HIGH,
            reason="label export-controlled may only live under /data/itar",
            provenance="contains 31% of fs-a:/data/itar/k17/spec.docx", status=AlertStatus.OPEN,
            details=AlertDetails(size=2048, origin=origin)), ())
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n')
    return cfg


def test_show_gives_the_origin_fields_escaped(tmp_path: Path,
                                              run_dlpd: Callable[..., Any]) -> None:
    origin = Origin(kind="derived", source_path=HOSTILE, source_host="fs-a", share=0.31,
                    set_by="prof_k", set_at=1_793_577_600.0)
    cfg = _store(tmp_path, origin)
    shown = run_dlpd("alerts", "show", "1", "--config", cfg)
    assert shown.returncode == 0, shown.describe()
    (line,) = [x for x in shown.stdout.splitlines() if x.strip().startswith("origin:")]
    assert "derived" in line and "share 31%" in line and "set by prof_k" in line
    assert "fs-a:/data/itar/k17/spec" in line and "\x1b" not in shown.stdout
    assert "\\x1b[2J\\n.docx" in line
    data = json.loads(run_dlpd("alerts", "show", "1", "--config", cfg,
                               "--format", "json").stdout)
    assert data["details"]["origin"] == origin.to_json()


def test_a_detected_label_has_no_origin_line(tmp_path: Path,
                                            run_dlpd: Callable[..., Any]) -> None:
    shown = run_dlpd("alerts", "show", "1", "--config", _store(tmp_path, None))
    assert shown.returncode == 0 and "origin:" not in shown.stdout
