"""An interrupted `dlpd scan` says so, keeps what it read, and a re-run continues.

The real CLI as a subprocess over a generated tree (thousands of small files, a few slow
ones: long runs of card-like numbers that the validators check one by one), signalled once
the store holds its first batch of results:
- SIGINT (``--jobs 1`` and ``--jobs 2``) and SIGTERM: exit 130, no traceback, the summary
  says interrupted (table: a line on stderr; JSON: ``"interrupted": true``), and the store
  holds exactly the results that were written out;
- the same command again reads only the files not yet recorded and finds what a clean
  single scan of the tree finds;
- a second SIGINT aborts at once, without the summary of a finished stop.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DLPD, TRACEBACK

INTERRUPTED = 130
STOPPING = "dlpd: stopping: finishing the files in flight; press Ctrl-C again to abort"
# Generous: the machine is small and shared; a scan that is never signalled ends first.
TIMEOUT = 300.0

DIRS = 30
SMALL_PER_DIR = 120
SLOW_EVERY = 3  # a slow file in every third directory
CARD = "Payment gateway smoke test. Credit card number: 4111 1111 1111 1111\n"


@dataclass(frozen=True)
class Tree:
    root: Path
    files: int


def _slow_text(size: int) -> bytes:
    # Many candidates for the card rules, each one Luhn-checked: ~0.3 s a file here.
    lines = []
    n = total = 0
    while total < size:
        a, b, c = (n * 7919) % 10000, (n * 104729) % 10000, (n * 1299709) % 10000
        lines.append(f"card number {a:04d} {b:04d} {c:04d} {n % 10000:04d}\n")
        total += len(lines[-1])
        n += 1
    return "".join(lines).encode()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    root = tmp_path_factory.mktemp("interrupt").resolve() / "share"
    slow = _slow_text(1_500_000)
    count = 0
    for d in range(DIRS):
        directory = root / f"d{d:02}"
        directory.mkdir(parents=True)
        for f in range(SMALL_PER_DIR):
            (directory / f"note{f:03}.txt").write_text(f"plain lab notes {d} {f}\n" * 20)
            count += 1
        if d % SLOW_EVERY == 1:
            (directory / "readings.txt").write_bytes(slow)
            count += 1
        if d % 7 == 3:
            (directory / "payment.txt").write_text(CARD)
            count += 1
    _age(root)
    return Tree(root, count)


def _age(root: Path) -> None:
    """Older than the racy window of the store (a file written in the second of the scan
    is read again by the next one, whatever its stat says): the re-run's counts are exact."""
    past = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (past, past))


@pytest.fixture(scope="module")
def slow_tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    """Only slow files: whenever the scan is stopped, seconds of reading are in flight."""
    root = tmp_path_factory.mktemp("slow").resolve() / "share"
    root.mkdir()
    slow = _slow_text(120_000)
    files = 200
    for n in range(files):
        (root / f"readings{n:03}.txt").write_bytes(slow)
    return Tree(root, files)


def _db(config: Path) -> Path:
    return config.parent / "dlpd.db"


def _stored(config: Path) -> set[str]:
    with sqlite3.connect(_db(config), timeout=30) as conn:
        return {row[0] for row in conn.execute("SELECT path FROM files")}


def _stored_count(config: Path) -> int:
    """Rows in the store's files table; 0 before the scan has created it."""
    if not _db(config).exists():
        return 0
    try:
        with sqlite3.connect(_db(config), timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM files").fetchone()[0])
    except sqlite3.OperationalError:  # the migrations have not created the table yet
        return 0


@dataclass
class Scan:
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8")

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"dlpd scan did not end within {timeout:.0f}s; stderr:\n"
                        + self.stderr()[-3000:])


def _sigint_by_default() -> None:
    # A test run started in the background by a shell inherits SIGINT ignored, and dlpd
    # (as Python) leaves an ignored SIGINT ignored: the scan here gets it as from a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def start(tmp_path: Path, dlpd_home: Path) -> Iterator[Callable[..., Scan]]:
    started: list[Scan] = []

    def run(*args: str | os.PathLike[str]) -> Scan:
        n = len(started)
        out, err = tmp_path / f"out{n}", tmp_path / f"err{n}"
        env = {**os.environ, "HOME": str(dlpd_home),
               "XDG_STATE_HOME": str(dlpd_home / ".local/state"),
               "XDG_CACHE_HOME": str(dlpd_home / ".cache")}
        with out.open("wb") as o, err.open("wb") as e:
            proc = subprocess.Popen([*DLPD, "scan", *map(os.fspath, args)],
                                    stdin=subprocess.DEVNULL, stdout=o, stderr=e, env=env,
                                    cwd=tmp_path, start_new_session=True,
                                    # No thread of this test runs during the fork.
                                    preexec_fn=_sigint_by_default)  # noqa: PLW1509
        scan = Scan(proc, out, err)
        started.append(scan)
        return scan

    yield run
    for scan in started:  # a failed test leaves nothing running
        if scan.proc.poll() is None:
            os.killpg(scan.proc.pid, signal.SIGKILL)
            scan.proc.wait()


def _when(condition: Callable[[], bool], scan: Scan, what: str) -> None:
    """Poll until ``condition``; fail if the scan ends first (it was never interrupted)."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if scan.proc.poll() is not None:
            pytest.fail(f"the scan ended (exit {scan.proc.returncode}) before {what}: the tree "
                        "is too small to interrupt on this machine; stderr:\n"
                        + scan.stderr()[-3000:])
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {TIMEOUT:.0f}s")
        time.sleep(0.05)


def _interrupt(start: Callable[..., Scan], config: Path, tree: Tree, jobs: int, fmt: str,
               signum: int) -> Scan:
    """A scan signalled once its first batch of results is in the store."""
    scan = start(tree.root, "--config", config, "--jobs", str(jobs), "--format", fmt)
    _when(lambda: _stored_count(config) > 0, scan, "the first batch was stored")
    scan.proc.send_signal(signum)
    code = scan.wait()
    err = scan.stderr()
    assert TRACEBACK not in err, err[-5000:]
    assert code == INTERRUPTED, f"exit {code}; stderr:\n{err[-3000:]}"
    assert STOPPING in err.splitlines(), err[-3000:]
    return scan


def _findings(files: list[dict[str, Any]]) -> dict[str, set[tuple[str, str, int]]]:
    return {f["path"]: {(d["rule"], d["category"], d["count"]) for d in f["detections"]}
            for f in files if f["detections"]}


@pytest.fixture(scope="module")
def clean(tree: Tree, tmp_path_factory: pytest.TempPathFactory,
          dlpd_config: Callable[..., Path], run_dlpd: Callable[..., Any]) -> dict[str, Any]:
    """One uninterrupted scan of the tree into a store of its own."""
    config = dlpd_config(tmp_path_factory.mktemp("clean"))
    run = run_dlpd("scan", tree.root, "--config", config, "--format", "json",
                   timeout=TIMEOUT)
    run.assert_finished_cleanly()
    document: dict[str, Any] = json.loads(run.stdout)
    assert document["summary"]["files"] == tree.files
    assert not document["summary"]["interrupted"]
    return document


def _resume(config: Path, tree: Tree, recorded: set[str], clean: dict[str, Any],
            run_dlpd: Callable[..., Any], jobs: int) -> None:
    """The same command again: reads only what was not recorded, finds what a clean
    scan finds."""
    run = run_dlpd("scan", tree.root, "--config", config, "--jobs", str(jobs),
                   "--format", "json", timeout=TIMEOUT)
    run.assert_finished_cleanly()
    document = json.loads(run.stdout)
    summary = document["summary"]
    assert summary["interrupted"] is False
    assert summary["files"] == tree.files
    assert summary["cached"] == len(recorded), summary
    assert summary["read"] == tree.files - len(recorded), summary
    cached = {f["path"] for f in document["files"] if f["cached"]}
    assert cached == recorded
    assert _findings(document["files"]) == _findings(clean["files"])
    assert len(_findings(clean["files"])) >= 5  # the planted cards and the slow files


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigint_stops_records_and_resumes(
    jobs: int, tree: Tree, tmp_path: Path, start: Callable[..., Scan],
    dlpd_config: Callable[..., Path], run_dlpd: Callable[..., Any], clean: dict[str, Any],
) -> None:
    config = dlpd_config(tmp_path / "state")
    scan = _interrupt(start, config, tree, jobs, "jsonl", signal.SIGINT)
    emitted = [json.loads(line) for line in scan.stdout().splitlines()]
    paths = {rec["path"] for rec in emitted}
    assert len(paths) == len(emitted)
    assert 0 < len(emitted) < tree.files, "the scan was not interrupted"
    # Every result written out is in the store (none held back in an unwritten batch).
    assert _stored(config) == paths
    err = scan.stderr()
    assert f"dlpd: interrupted after {len(emitted)} files" in err, err[-3000:]
    assert "the same command again continues" in err
    _resume(config, tree, paths, clean, run_dlpd, jobs)


def test_sigterm_stops_with_interrupted_in_the_json_summary(
    tree: Tree, tmp_path: Path, start: Callable[..., Scan],
    dlpd_config: Callable[..., Path], run_dlpd: Callable[..., Any], clean: dict[str, Any],
) -> None:
    config = dlpd_config(tmp_path / "state")
    scan = _interrupt(start, config, tree, 2, "json", signal.SIGTERM)
    document = json.loads(scan.stdout())
    summary = document["summary"]
    assert summary["interrupted"] is True
    assert 0 < summary["files"] < tree.files
    paths = {f["path"] for f in document["files"]}
    assert len(paths) == summary["files"]
    assert _stored(config) == paths
    _resume(config, tree, paths, clean, run_dlpd, 2)


def test_table_summary_says_interrupted(
    tree: Tree, tmp_path: Path, start: Callable[..., Scan], dlpd_config: Callable[..., Path],
) -> None:
    config = dlpd_config(tmp_path / "state")
    scan = _interrupt(start, config, tree, 2, "table", signal.SIGINT)
    # Not a terminal: the rows on stdout, the summary and what to do next on stderr.
    lines = scan.stderr().splitlines()
    summary = next(line for line in lines if " files (" in line)
    files = int(summary.split(" ", 1)[0])
    assert files == len(_stored(config))
    following = lines[lines.index(summary) + 1]
    assert following.startswith(f"interrupted after {files} files, their results recorded; "
                                "the same command again continues"), lines
    assert scan.stdout().startswith("path\toutcome\t")


def test_second_sigint_aborts_at_once(
    slow_tree: Tree, tmp_path: Path, start: Callable[..., Scan],
    dlpd_config: Callable[..., Path],
) -> None:
    config = dlpd_config(tmp_path / "state")
    scan = start(slow_tree.root, "--config", config, "--jobs", "2", "--format", "jsonl")
    _when(lambda: scan.out.stat().st_size > 0, scan, "the first results were written out")
    scan.proc.send_signal(signal.SIGINT)
    # The second only once the first was handled: two signals before the handler runs
    # are one to Python.
    _when(lambda: STOPPING in scan.stderr(), scan, "the first signal was acknowledged")
    scan.proc.send_signal(signal.SIGINT)
    code = scan.wait()
    err = scan.stderr()
    assert code == INTERRUPTED, f"exit {code}; stderr:\n{err[-3000:]}"
    assert TRACEBACK not in err, err[-5000:]
    assert err.splitlines()[-1] == "dlpd: aborted: the files in flight were not recorded"
    # It did not wait for the files in flight to write the summary of a finished stop.
    assert "interrupted after" not in err


def test_summary_json_always_says_whether_interrupted() -> None:
    from dlpd.cli.render import summary_json
    from dlpd.scan.runner import ScanSummary

    assert summary_json(ScanSummary())["interrupted"] is False
    assert summary_json(ScanSummary(cancelled=True))["interrupted"] is True
