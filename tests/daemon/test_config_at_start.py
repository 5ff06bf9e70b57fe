"""`dlpd run` acts at start on what `dlpd check-config` says: a label approved nowhere
alerts wherever it is found, and a configuration's warnings are JSON log lines."""

from __future__ import annotations

import json
from pathlib import Path

from .harness import Daemon, config_text, sensitive_text


def _config(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    data, state = tmp_path / "data", tmp_path / "state"
    (data / "itar").mkdir(parents=True)
    state.mkdir()
    text = config_text(state, watch=[data], approved=[data / "itar"], extra=extra)
    cfg = state / "dlpd.toml"
    cfg.write_text(text.replace(f'approved = ["{data / "itar"}"]', 'approved = "nowhere"'))
    return cfg, data


def test_a_label_approved_nowhere_alerts_even_in_the_old_approved_place(
        tmp_path: Path) -> None:
    cfg, data = _config(tmp_path)
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start()
    try:
        design = data / "itar" / "design.txt"
        design.write_text(sensitive_text(1))
        d.wait_for(lambda: d.alerts(str(design)), 30, "an alert in /itar")
        (alert,) = d.alerts(str(design))
        assert alert["label"] == "export-controlled"
        assert alert["reason"] == "label export-controlled may not be stored on this host"
        assert d.stop() == 0
    finally:
        d.close()


def test_run_logs_the_configuration_warnings_check_config_prints(tmp_path: Path) -> None:
    cfg, _ = _config(tmp_path, extra='[labels.export-controled]\napproved = "nowhere"\n')
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start()
    try:
        assert d.stop() == 0
    finally:
        d.close()
    records = [json.loads(line) for line in d.log.read_text().splitlines() if line.strip()]
    said = [r for r in records if r["event"] == "configuration problem"]
    typo = [r for r in said if r["key"] == "labels.export-controled"]
    assert len(typo) == 1 and typo[0]["level"] == "warning", said
    assert "did you mean export-controlled?" in typo[0]["problem"]
