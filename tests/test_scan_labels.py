"""`dlpd scan` without a daemon resolves labels too (issue 9: "Every scanned file (CLI
scan and daemon) is checked against the index"): a researcher labels her dataset in her
own store, scans, and copies and extracts elsewhere carry the label with its source.

The dataset is scanned once before it is labelled (the cache then knows its files as
unchanged): the scan after ``label set`` must read them anyway to register them.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conftest import DlpdRun
from corpus_formats import docx_bytes
from fingerprint.text_corpus import module_text

LABEL = "export-controlled"


def _csv(rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _runs(rng: random.Random, n: int) -> list[list[str]]:
    ids = rng.sample(range(100_000), n)
    return [[f"K17-R{ids[i]:05d}", f"2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
             f"{rng.uniform(0.3, 3.0):.2f}", f"{rng.uniform(-5, 15):.1f}",
             f"{rng.uniform(50, 500):.1f}", rng.choice(["clean", "flaps-10", "gear-down"])]
            for i in range(n)]


def _docx(module: str, n: int) -> bytes:
    return docx_bytes([[p] for p in module_text(module).split("\n\n") if len(p) > 80][:n])


def _sources(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        try:
            return {str(r[0]) for r in conn.execute("SELECT path FROM fp_sources")}
        except sqlite3.OperationalError:
            return set()


def test_scan_registers_labelled_files_and_labels_copies_and_extracts(
        tmp_path: Path, run_dlpd: Callable[..., DlpdRun],
        scan_jsonl: Callable[..., DlpdRun]) -> None:
    k17, out = tmp_path / "data" / "k17", tmp_path / "data" / "out"
    k17.mkdir(parents=True)
    out.mkdir()
    header = ["run_id", "date", "mach", "alpha_deg", "pressure_kpa", "config"]
    rows = _runs(random.Random(17), 5000)
    (k17 / "spec.docx").write_bytes(_docx("typing", 50))
    (k17 / "runs.csv").write_text(_csv([header, *rows]))
    config = tmp_path / "dlpd.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/state/dlpd.db"\n\n'
        f'[daemon]\ncontrol_socket = "{tmp_path}/no-daemon.sock"\n\n'
        f'[labels.{LABEL}]\nseverity = "high"\napproved = ["{k17}"]\n')
    db = tmp_path / "state" / "dlpd.db"

    # Nothing labelled: a scan registers nothing (and its files are cached).
    first = scan_jsonl(tmp_path / "data", config=config)
    first.assert_finished_cleanly()
    assert _sources(db) == set()

    done = run_dlpd("label", "set", k17, "--label", LABEL, "--note", "EAR 9E003",
                    "--config", config)
    assert done.returncode == 0, done.describe()
    assert "local store" in done.stderr

    # Cached and unchanged, yet read again: labelled and not registered yet.
    second = scan_jsonl(k17, config=config)
    second.assert_finished_cleanly()
    assert _sources(db) == {str(k17 / "spec.docx"), str(k17 / "runs.csv")}
    assert LABEL in second.by_path()[str(k17 / "spec.docx")]["labels"]

    shutil.copyfile(k17 / "spec.docx", out / "background.docx")
    picked = [[c for j, c in enumerate(r) if j != 4] for r in random.Random(2).sample(rows, 200)]
    (out / "extract.csv").write_text(_csv([[h for j, h in enumerate(header) if j != 4],
                                           *picked]))
    (out / "unrelated.docx").write_bytes(_docx("tarfile", 50))
    third = scan_jsonl(out, config=config)
    third.assert_finished_cleanly()
    found = third.by_path()
    assert LABEL in found[str(out / "background.docx")]["labels"]
    assert LABEL in found[str(out / "extract.csv")]["labels"]
    assert LABEL not in found[str(out / "unrelated.docx")]["labels"]

    def show(path: Path) -> list[dict[str, Any]]:
        shown = run_dlpd("label", "show", path, "--format", "json", "--config", config)
        assert shown.returncode == 0, shown.describe()
        return list(json.loads(shown.stdout)["labels"])

    (copy,) = [s for s in show(out / "background.docx") if s["label"] == LABEL]
    assert (copy["source"], copy["via"]) == ("copy", str(k17 / "spec.docx"))
    (derived,) = [s for s in show(out / "extract.csv") if s["label"] == LABEL]
    assert (derived["source"], derived["via"]) == ("derived", str(k17 / "runs.csv"))
    assert derived["rows"] is not None and 180 <= derived["rows"] <= 200, derived
    assert show(out / "unrelated.docx") == []
