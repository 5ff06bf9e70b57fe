"""`dlpd label stoplist`: a template's text no longer makes two documents that share only
the template copies of each other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fingerprint.text_corpus import corpus


def _labels(run_dlpd: Callable[..., Any], cfg: Path, path: Path) -> list[str]:
    rows = run_dlpd("scan", str(path), "--config", cfg, "--format", "jsonl",
                    "--no-cache").records()
    (row,) = [r for r in rows if r["path"] == str(path)]
    return list(row["labels"])


def test_a_stoplisted_template_is_no_evidence(tmp_path: Path, run_dlpd: Callable[..., Any],
                                              dlpd_config: Callable[..., Path]) -> None:
    texts = list(corpus().values())
    template, mine, theirs = texts[0], texts[1][:3000], texts[2][:3000]
    cfg = dlpd_config(tmp_path / "cfg",
                      '[labels.export-controlled]\napproved = ["/data"]\n')
    (tmp_path / "k17").mkdir()
    (tmp_path / "k17" / "report.txt").write_text(template + "\n" + mine)
    (tmp_path / "other.txt").write_text(template + "\n" + theirs)
    (tmp_path / "form.txt").write_text(template)
    done = run_dlpd("label", "set", str(tmp_path / "k17"), "--label", "export-controlled",
                    "--config", cfg, "--socket", str(tmp_path / "none.sock"))
    assert done.returncode == 0, done.describe()
    run_dlpd("scan", str(tmp_path / "k17"), "--config", cfg)
    # Without the stoplist the shared form makes the other report "derived".
    assert _labels(run_dlpd, cfg, tmp_path / "other.txt") == ["export-controlled"]
    stop = run_dlpd("label", "stoplist", str(tmp_path / "form.txt"), "--reason", "lab form",
                    "--config", cfg)
    assert stop.returncode == 0 and "prints stoplisted" in stop.stdout, stop.describe()
    assert _labels(run_dlpd, cfg, tmp_path / "other.txt") == []
    # The labelled report itself still carries its label.
    assert _labels(run_dlpd, cfg, tmp_path / "k17" / "report.txt") == ["export-controlled"]
