"""The CLI as users meet it: a real subprocess, real SQLite, real YARA and libmagic."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def dlpd(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dlpd", *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, **(env or {})},
                          timeout=timeout, check=False)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "dlpd.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/state/dlpd.db"\n')
    return path


def _tree(root: Path) -> Path:
    root.mkdir()
    (root / "clean.txt").write_text("Calibration notes for the circuit board.\n")
    (root / "banner.txt").write_text("CUI//SP-PRVCY\nPersonnel records.\n")
    return root


def test_bad_config_names_the_key_and_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[limits]\nmax_ratio = 'lots'\n")
    proc = dlpd("scan", str(tmp_path), "--config", str(cfg))
    assert proc.returncode == 2
    assert "limits.max_ratio" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = dlpd("check-config", "--config", str(cfg))
    assert proc.returncode == 2 and "limits.max_ratio" in proc.stderr


def test_unknown_key_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[scan]\nthreads = 4\n")
    proc = dlpd("check-config", "--config", str(cfg))
    assert proc.returncode == 2 and "scan.threads: unknown key" in proc.stderr


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert dlpd("scan").returncode == 2
    assert dlpd("scan", str(tmp_path), "--format", "xml").returncode == 2


def test_exit_codes_and_jsonl_contract(tmp_path: Path, cfg: Path) -> None:
    root = _tree(tmp_path / "tree")
    proc = dlpd("scan", str(root), "--config", str(cfg), "--format", "jsonl")
    assert proc.returncode == 1, proc.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(rows) == {"clean.txt", "banner.txt"}
    banner = rows["banner.txt"]
    for key in ("path", "size", "sha256", "mime", "outcome", "reason", "labels", "detections"):
        assert key in banner
    assert banner["outcome"] == "ok" and banner["labels"] == ["cui"]
    det = banner["detections"][0]
    assert {"rule", "category", "confidence", "count", "member"} <= set(det)
    assert det["category"] == "cui" and det["member"] is None
    assert rows["clean.txt"]["detections"] == [] and rows["clean.txt"]["mime"] == "text/plain"

    (root / "banner.txt").unlink()
    proc = dlpd("scan", str(root), "--config", str(cfg), "--format", "jsonl")
    assert proc.returncode == 0, proc.stdout


def _without_cached(out: str) -> list[str]:
    rows = ({k: v for k, v in json.loads(line).items() if k != "cached"}
            for line in out.splitlines())
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def test_warm_rescan_reads_nothing_and_no_cache_rereads(tmp_path: Path, cfg: Path) -> None:
    root = _tree(tmp_path / "tree")
    old = 1_600_000_000
    for p in root.iterdir():
        os.utime(p, (old, old))  # not racy: written long before the scan
    first = dlpd("scan", str(root), "--config", str(cfg), "--format", "jsonl")
    warm = dlpd("scan", str(root), "--config", str(cfg), "--format", "jsonl")
    cold = dlpd("scan", str(root), "--config", str(cfg), "--format", "jsonl", "--no-cache")
    assert _without_cached(first.stdout) == _without_cached(warm.stdout)
    assert _without_cached(first.stdout) == _without_cached(cold.stdout)
    assert all(json.loads(line)["cached"] for line in warm.stdout.splitlines())
    assert not any(json.loads(line)["cached"] for line in cold.stdout.splitlines())


def test_json_and_table_formats(tmp_path: Path, cfg: Path) -> None:
    root = _tree(tmp_path / "tree")
    proc = dlpd("scan", str(root), "--config", str(cfg), "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["summary"]["files"] == 2 and doc["summary"]["with_findings"] == 1
    assert len(doc["files"]) == 2
    proc = dlpd("scan", str(root), "--config", str(cfg))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    # Not a terminal: plain lines, no box drawing, no colour codes.
    assert any("banner.txt" in line and "cui" in line for line in lines)
    assert "\x1b[" not in proc.stdout and "┃" not in proc.stdout
    # Issue 8: the summary goes to stderr when stdout is not a terminal.
    assert proc.stderr.splitlines()[-1].startswith("2 files")


def test_default_state_dir_is_xdg(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    proc = dlpd("scan", str(root), "--format", "jsonl",
                env={"XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert proc.returncode == 1, proc.stderr
    assert (tmp_path / "xdg" / "dlpd" / "dlpd.db").exists()


def test_rules_check_reports_file_and_line_and_rejects_slow_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yar").write_text(
        'rule ok_one {\n meta: category = "cui"\n strings: $a = "SECRET-MARK"\n'
        " condition: $a\n}\n\nrule bad {\n condition: $nope\n}\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[signatures]\ndirs = ["{rules}"]\n[database]\nurl = "sqlite:///{tmp_path}/d.db"\n')
    proc = dlpd("rules", "check", "--config", str(cfg))
    assert proc.returncode == 2
    # YARA reports the line where its parser noticed (the condition or the brace after it).
    assert re.search(re.escape(str(rules / "broken.yar")) + r":(8|9): undefined string",
                     proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr
    (rules / "broken.yar").write_text(
        'rule slow {\n meta: category = "us-ssn"\n strings: $a = /[0-9]{3}-[0-9]{2}-[0-9]{4}/\n'
        " condition: $a\n}\n")
    proc = dlpd("rules", "check", "--config", str(cfg))
    assert proc.returncode == 2 and "may slow down scanning" in proc.stderr
    (rules / "broken.yar").write_text(
        'rule site_marking {\n meta: category = "cui"\n confidence = "high"\n'
        ' strings: $a = "PROJECT-HALCYON-RESTRICTED"\n condition: $a\n}\n')
    assert dlpd("rules", "check", "--config", str(cfg)).returncode == 0
    sample = tmp_path / "memo.txt"
    sample.write_text("header PROJECT-HALCYON-RESTRICTED footer\n")
    proc = dlpd("rules", "test", str(sample), "--config", str(cfg))
    assert proc.returncode == 1 and "site_marking" in proc.stdout
    assert "PROJECT-HALCYON-RESTRICTED" not in proc.stdout.replace(str(sample), "")


def test_bad_meta_category_is_a_rules_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yar").write_text('rule r {\n meta: category = "gossip"\n strings: $a = "abcdef"\n'
                                 " condition: $a\n}\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[signatures]\ndirs = ["{rules}"]\n')
    proc = dlpd("check-config", "--config", str(cfg))
    assert proc.returncode == 2 and "gossip" in proc.stderr and "Traceback" not in proc.stderr


def test_unusable_database_is_a_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{blocker}/dlpd.db"\n')
    proc = dlpd("scan", str(tmp_path), "--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr.startswith("dlpd: error:") and "Traceback" not in proc.stderr


def test_closed_pipe_is_not_an_error(tmp_path: Path, cfg: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(300):
        (root / f"f{i:03}.txt").write_text("CUI//SP-PRVCY\n")
    proc = subprocess.run(
        f"{sys.executable} -m dlpd scan {root} --config {cfg} --format jsonl | head -1",
        shell=True, capture_output=True, text=True, timeout=120, check=False)
    assert len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr, proc.stderr


def test_example_config_is_printed_and_valid(tmp_path: Path) -> None:
    proc = dlpd("example-config")
    assert proc.returncode == 0 and "[limits]" in proc.stdout
    cfg = tmp_path / "dlpd.toml"
    cfg.write_text(proc.stdout)
    check = dlpd("check-config", "--config", str(cfg))
    assert check.returncode == 0, check.stderr


def test_exclude_option_and_config_are_honoured(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    (root / ".cache").mkdir()
    (root / ".cache" / "copy.txt").write_text("CUI//SP-PRVCY\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/d.db"\n'
                   '[scan]\nexclude = ["**/.cache/**"]\n')
    proc = dlpd("scan", str(root), "--config", str(cfg), "--format", "jsonl",
                "--exclude", "banner.*")
    names = {Path(json.loads(line)["path"]).name for line in proc.stdout.splitlines()}
    assert names == {"clean.txt"}, names
    assert proc.returncode == 0


def test_a_config_change_is_not_answered_from_the_cache(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    for p in root.iterdir():
        os.utime(p, (1_600_000_000, 1_600_000_000))
    db = f'[database]\nurl = "sqlite:///{tmp_path}/d.db"\n'
    plain, relabelled = tmp_path / "a.toml", tmp_path / "b.toml"
    plain.write_text(db)
    relabelled.write_text(db + '[categories]\ncui = "restricted"\n')
    dlpd("scan", str(root), "--config", str(plain), "--format", "jsonl")
    proc = dlpd("scan", str(root), "--config", str(relabelled), "--format", "jsonl")
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert rows["banner.txt"]["labels"] == ["restricted"]
    assert not rows["banner.txt"]["cached"]
    again = dlpd("scan", str(root), "--config", str(relabelled), "--format", "jsonl")
    assert all(json.loads(line)["cached"] for line in again.stdout.splitlines())
