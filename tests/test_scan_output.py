"""`dlpd scan` output for people and for pipes (issue 8, "Scan output").

Not a terminal: ``--format table`` is a header and tab-separated rows on stdout, the
summary on stderr. A terminal: rich's table, paths shortened from the left with ``…`` and
never cut inside a name. Progress goes to stderr, only when it is a terminal: files and MB
per second, and once the walk has listed everything, the total and an ETA. The real
``dlpd scan`` runs as a subprocess; pseudo-terminals stand in for a person's terminal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DLPD, DlpdRun
from hypothesis import given
from hypothesis import strategies as st

from dlpd.cli.render import PLAIN_COLUMNS, progress_line, shorten_left
from dlpd.scan.runner import WalkProgress
from dlpd.textsafe import visible

ITAR = (b"EXPORT CONTROLLED - ITAR. This document contains technical data whose export is "
        b"restricted by the International Traffic in Arms Regulations (ITAR), 22 CFR 120-130.\n")
HEADER = "\t".join(PLAIN_COLUMNS)
SUMMARY = re.compile(r"^\d+ files \(\d+ read, \d+ unchanged\)")
_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def write(path: Path | bytes, data: bytes = ITAR) -> None:
    raw = os.fsencode(path)
    os.makedirs(os.path.dirname(raw), exist_ok=True)
    with open(raw, "wb") as f:
        f.write(data)


# -- the progress text and the path shortening, as pure functions ----------------------

def test_progress_before_the_walk_is_done_has_rates_and_no_total() -> None:
    text = progress_line(120, 30_000_000, 4.0, WalkProgress(files=500, bytes=10**9), 25_000_000)
    assert text == "120 files, 30.0 MB; 30 files/s, 7.5 MB/s"


def test_progress_once_the_walk_is_done_has_total_and_eta() -> None:
    walked = WalkProgress(files=1000, bytes=100_000_000, done=True)
    # A quarter of the files and half of the bytes in 10 s: the files say 30 s more.
    text = progress_line(250, 50_000_000, 10.0, walked, 50_000_000)
    assert text == "250 of 1,000 files, 50.0 MB; 25 files/s, 5.0 MB/s; ETA 0:30"
    # Half of the files but a tenth of the bytes in 60 s: the bytes say 9 minutes more.
    text = progress_line(500, 10_000_000, 60.0, walked, 10_000_000)
    assert text.endswith("ETA 9:00"), text
    # Cached files cost no read: MB/s counts what was read, the ETA the sizes done
    # (1 MB of 100 left after 99 in an hour: 36 s; the one file left says 4 s).
    text = progress_line(999, 0, 3600.0, walked, 99_000_000)
    assert "0.0 MB/s" in text and text.endswith("ETA 0:36"), text
    long = progress_line(1, 1, 3600.0, WalkProgress(files=3, bytes=3, done=True), 1)
    assert long.endswith("ETA 2:00:00"), long


def test_progress_at_the_end_and_of_an_empty_walk() -> None:
    walked = WalkProgress(files=7, bytes=700, done=True)
    assert progress_line(7, 700, 1.0, walked, 700).endswith("7 of 7 files, 0.0 MB; "
                                                            "7 files/s, 0.0 MB/s; ETA 0:00")
    empty = progress_line(0, 0, 0.0, WalkProgress(done=True), 0)
    assert "files/s" in empty and "ETA" not in empty


@pytest.mark.parametrize(("path", "width", "shown"), [
    ("/data/a/b.txt", 40, "/data/a/b.txt"),
    ("/data/projectX/results/2024/report.pdf", 28, "…/results/2024/report.pdf"),
    ("/data/projectX/results/2024/report.pdf", 14, "…/report.pdf"),
    ("/data/projectX/results/2024/report.pdf", 5, "…/report.pdf"),  # runs long, whole
    ("/data/x/" + "n" * 30, 12, "…/" + "n" * 30),
])
def test_shorten_left_table(path: str, width: int, shown: str) -> None:
    assert shorten_left(path, width) == shown


_names = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
                 min_size=1, max_size=12)


@given(parts=st.lists(_names, min_size=1, max_size=8), width=st.integers(1, 80))
def test_shorten_left_keeps_whole_names(parts: list[str], width: int) -> None:
    path = "/" + "/".join(parts)
    shown = shorten_left(path, width)
    if shown == path:
        assert len(path) <= width
        return
    assert shown.startswith("…/")
    kept = shown[2:].split("/")
    assert kept == parts[-len(kept):], "a name was cut"  # whole names, the last included
    assert len(shown) <= width or len(kept) == 1


# -- not a terminal: header and rows on stdout, the summary on stderr --------------------

def test_piped_table_is_a_header_and_rows_and_the_summary_goes_to_stderr(
        tmp_path: Path, dlpd_config: Callable[..., Path],
        run_dlpd: Callable[..., DlpdRun]) -> None:
    root = tmp_path / "tree"
    write(root / "a" / "itar.txt")
    write(root / "b" / "second itar.txt")
    write(root / "clean.txt", b"nothing to see\n")
    res = run_dlpd("scan", root, "--format", "table", "--config", dlpd_config(tmp_path / "c"))
    assert res.returncode == 1, res.describe()
    lines = res.stdout.splitlines()
    assert lines[0] == HEADER == "path\toutcome\tlabels\tcategories\treason"
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == len(PLAIN_COLUMNS) for row in rows), rows
    assert sorted(row[0] for row in rows) == [str(root / "a" / "itar.txt"),
                                              str(root / "b" / "second itar.txt")]
    assert all(row[1:] == ["ok", "export-controlled", "export-control", "-"] for row in rows)
    assert not any(SUMMARY.match(line) for line in lines), "the summary is not data"
    assert SUMMARY.match(res.stderr.splitlines()[-1]), res.stderr[-2000:]
    # JSON keeps its summary inside the document.
    doc = run_dlpd("scan", root, "--format", "json", "--config", dlpd_config(tmp_path / "c"))
    assert json.loads(doc.stdout)["summary"]["files"] == 3


def test_piped_table_of_hostile_names_is_one_row_per_file(
        tmp_path: Path, dlpd_config: Callable[..., Path],
        run_dlpd: Callable[..., DlpdRun]) -> None:
    root = tmp_path / "tree"
    names = [b"new\nline.txt", b"tab\there.txt", b"esc\x1b[2Jclear.txt", b"cr\rover.txt",
             b"path\tok\t-\t-\tforged.txt", b"bad\xff\xfe.txt"]
    for name in names:
        write(os.fsencode(root) + b"/" + name)
    res = run_dlpd("scan", root, "--config", dlpd_config(tmp_path / "c"))
    assert res.returncode == 1, res.describe()
    lines = res.stdout.split("\n")
    assert lines[0] == HEADER and lines[-1] == ""
    rows = [line.split("\t") for line in lines[1:-1]]
    assert len(rows) == len(names)
    assert all(len(row) == len(PLAIN_COLUMNS) for row in rows), rows
    assert not [f for row in rows for f in row if any(ord(c) < 32 or c == "\x7f" for c in f)]
    shown = {visible(os.fsdecode(os.fsencode(root) + b"/" + n)) for n in names}
    assert {row[0] for row in rows} == shown


# -- on a terminal ---------------------------------------------------------------------

def run_with_terminal(*args: str | os.PathLike[str], on: str, columns: int = 100,
                      timeout: float = 120.0) -> tuple[int, str, str]:
    """``dlpd ARGS`` with ``on`` ("stdout" or "stderr") on a pseudo-terminal ``columns``
    wide and the other stream on a pipe. Returns (exit code, what reached the terminal
    with rich's own escape sequences and carriage returns removed, the piped stream)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "50"}
    env.pop("NO_COLOR", None)
    streams = {"stdout": slave, "stderr": subprocess.PIPE}
    if on == "stderr":
        streams = {"stdout": subprocess.PIPE, "stderr": slave}
    proc = subprocess.Popen([*DLPD, *(os.fspath(a) for a in args)], stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True, **streams)
    os.close(slave)
    piped = proc.stderr if on == "stdout" else proc.stdout
    assert piped is not None
    os.set_blocking(piped.fileno(), False)
    chunks: list[bytes] = []
    pipe_chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    open_fds = {master, piped.fileno()}
    try:
        while open_fds and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_fds), [], [], 0.5)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the child closed its side of the terminal
                    data = b""
                if not data:
                    open_fds.discard(fd)
                    continue
                (chunks if fd == master else pipe_chunks).append(data)
        if open_fds:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"{args} did not finish within {timeout:.0f}s")
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        with contextlib.suppress(Exception):
            piped.close()
    shown = _CSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")
    return code, shown.replace("\r", "\n"), b"".join(pipe_chunks).decode("utf-8")


def test_terminal_table_shortens_a_long_path_from_the_left(
        tmp_path: Path, dlpd_config: Callable[..., Path]) -> None:
    name = "quarterly-export-report-final.txt"
    deep = tmp_path / ("first-level-" * 4) / ("second-level-" * 4) / ("third-level-" * 4)
    write(deep / name)
    cfg = dlpd_config(tmp_path / "c")
    code, shown, err = run_with_terminal("scan", deep.parents[2], "--config", cfg,
                                         on="stdout", columns=100)
    assert code == 1, err[-3000:]
    rows = [line for line in shown.split("\n") if name in line]
    assert len(rows) == 1, shown[-3000:]  # the name whole, on one line of the table
    assert f"…/{name}" in rows[0] or f"/{name}" in rows[0]
    assert "…/" in rows[0] and str(tmp_path) not in shown, "the path was not shortened"
    assert all(len(line) <= 100 for line in shown.split("\n")), shown[-3000:]
    assert re.search(SUMMARY.pattern, shown, re.MULTILINE), shown[-3000:]


def test_progress_goes_to_a_terminal_stderr_never_to_a_redirected_stdout(
        tmp_path: Path, dlpd_config: Callable[..., Path]) -> None:
    root = tmp_path / "tree"
    for n in range(300):
        write(root / f"d{n % 10}" / f"f{n:03d}.txt", ITAR if n % 3 == 0 else b"plain\n" * 50)
    cfg = dlpd_config(tmp_path / "c")
    code, shown, out = run_with_terminal("scan", root, "--config", cfg, "--jobs", "1",
                                         on="stderr")
    assert code == 1, shown[-3000:]
    # stdout is the data: a header and 100 rows, nothing drawn.
    assert "\x1b" not in out and "\r" not in out
    assert out.split("\n")[0] == HEADER and len(out.splitlines()) == 101
    assert "files/s" in shown and "MB/s" in shown, shown[-3000:]
    assert re.search(r"\b300 of 300 files\b.*ETA 0:00", shown), shown[-3000:]
    assert SUMMARY.match([line for line in shown.split("\n") if line.strip()][-1]), shown
    # JSON lines on a redirected stdout stay there while the progress is drawn on stderr.
    code, shown, out = run_with_terminal("scan", root, "--config", cfg, "--format", "jsonl",
                                         "--no-cache", on="stderr")
    assert code == 1, shown[-3000:]
    assert len([json.loads(line) for line in out.splitlines()]) == 300
    assert "files/s" in shown and not SUMMARY.search(out)


def test_progress_knows_the_total_long_before_the_end(
        tmp_path: Path, dlpd_config: Callable[..., Path]) -> None:
    # The counting walk runs beside the scan: the total is shown while most files are
    # still to be read, not only once the scan's own walk (a few batches ahead) ends.
    root = tmp_path / "tree"
    for n in range(3000):
        write(root / f"d{n % 30}" / f"f{n:04d}.txt", ITAR if n % 50 == 0 else b"plain\n" * 400)
    cfg = dlpd_config(tmp_path / "c")
    code, shown, _ = run_with_terminal("scan", root, "--config", cfg, "--jobs", "1",
                                       on="stderr")
    assert code == 1, shown[-3000:]
    early = [int(m.group(1).replace(",", ""))
             for m in re.finditer(r"\b([\d,]+) of 3,000 files\b", shown)]
    assert early and min(early) < 1500, shown[-3000:]
