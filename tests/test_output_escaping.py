"""Forged and broken output (issue 7, item 4): data never acts on a terminal or a reader.

File names, notes, reasons, hosts and process names are chosen by whoever wrote them. For
every output of the real CLI (the plain scan table, the same table on a terminal where
rich renders it, ``alerts list``/``show``, ``access list``, ``rules test``, JSON lines and
the SIEM exports) these tests put hostile text in and check what comes out: no control
character, no markup interpreted, one row or record per item, and (for human output) the
escaped name can be read back to the exact name.
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
import tempfile
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlpd.cli.render_alerts import status_text
from dlpd.daemon.access_log import AccessAggregator
from dlpd.model import Actor, Alert, AlertStatus, Severity, display_path
from dlpd.store import alerts as repo
from dlpd.store.db import open_engine, transaction
from dlpd.textsafe import json_text, visible
from tests.conftest import DLPD, DlpdRun
from tests.sinks.grammar import LINE_BREAKS, unsafe_characters

# -- what "read back" means -------------------------------------------------------------

_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|([nrt\\]))")


def unvisible(text: str) -> str:
    """The inverse of ``visible`` (written from its documented escapes): ``\\xNN`` with
    NN >= 80 is an undecodable byte, i.e. the surrogate ``os.fsdecode`` gives for it."""
    def one(m: re.Match[str]) -> str:
        if m[4]:
            return {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}[m[4]]
        if m[1]:
            code = int(m[1], 16)
            return chr(0xDC00 + code if code >= 0x80 else code)
        return chr(int(m[2] or m[3], 16))
    return _ESCAPE.sub(one, text)


def assert_safe_lines(text: str) -> list[str]:
    """``text`` holds no character a terminal acts on but LF (and TAB, the plain tables'
    separator), and no line break a reader could split on but LF; its lines."""
    assert [c for c in unsafe_characters(text) if c not in "\n\t"] == [], repr(text[:2000])
    lines = text.split("\n")
    assert text.splitlines() == (lines[:-1] if text.endswith("\n") else lines)
    return lines[:-1] if text.endswith("\n") else lines


# -- the pure function ------------------------------------------------------------------

# Arbitrary text, including lone surrogates (what os.fsdecode makes of undecodable bytes).
_names = st.binary(max_size=60).map(os.fsdecode) | st.text(max_size=60) | st.text(
    alphabet=st.characters(codec="utf-8"), max_size=60)


@given(text=_names)
def test_visible_is_one_safe_line_and_one_to_one(text: str) -> None:
    shown = visible(text)
    assert unsafe_characters(shown) == []
    assert len(shown.splitlines()) <= 1
    shown.encode("utf-8")
    assert unvisible(shown) == text


@given(text=_names)
def test_visible_keeping_backslashes_is_still_safe(text: str) -> None:
    shown = visible(text, keep_backslash=True)
    assert unsafe_characters(shown) == [] and len(shown.splitlines()) <= 1
    shown.encode("utf-8")


def test_every_code_point_is_shown_safely() -> None:
    everything = "".join(map(chr, range(0x110000)))
    assert unsafe_characters(visible(everything)) == []
    assert unvisible(visible(everything)) == everything


@pytest.mark.parametrize(("text", "shown"), [
    ("a\nb", "a\\nb"),
    ("a\\nb", "a\\\\nb"),  # a literal backslash-n is not a newline
    ("\x1b[2J", "\\x1b[2J"),
    ("\udcff", "\\xff"),  # the byte 0xff of a name that is not UTF-8
    ("\x85", "\\u0085"),  # the character NEL, distinct from the byte 0x85
    ("\u202eexe.txt", "\\u202eexe.txt"),
    ("機密　ファイル.docx", "機密　ファイル.docx"),
    ("👩\u200d💻", "👩\u200d💻"),
    ("[bold]x[/bold] :smile:", "[bold]x[/bold] :smile:"),  # markup is rich's job: Text()
])
def test_visible_table(text: str, shown: str) -> None:
    assert visible(text) == shown


@given(value=st.recursive(
    st.none() | st.integers() | _names,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=12))
def test_json_text_is_one_line_of_valid_utf8(value: Any) -> None:
    line = json_text(value)
    assert line.splitlines() == [line]
    line.encode("utf-8")
    assert json.loads(line) == value


# -- hostile names on disk --------------------------------------------------------------

ITAR = (b"WARNING - This document contains technical data whose export is restricted by the\n"
        b"Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
        b"Traffic in Arms Regulations (ITAR), 22 CFR 120-130. Violations of these export laws\n"
        b"are subject to severe criminal penalties.\n")

HOSTILE = [
    "a\nCEF:0|Forged|dlpd|1|sig|forged|10|msg=forged.txt",
    "cr\roverwritten.txt",
    "osc\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\.txt",
    "csi\x1b[2J.txt",
    "x[/oops]",
    "[link=http://evil]click[/link].txt",
    "[bold red]alarm[/].txt",
    ":smile: :warning:.txt",
    "sep\u2028line\u2029para.txt",
    "nel\x85.txt",
    "vt\x0bff\x0cfs\x1c.txt",
    "rlo\u202etxt.exe",
    "tab\tname.txt",
    "back\\nslash.txt",
    "bad\udcff\udcfe.txt",
    "bell\x07c1csi\x9b2J.txt",
    "bidi\u2066iso\u2069.txt",
]


def make_tree(root: Path, names: Sequence[str]) -> list[str]:
    """A file with ITAR content under each (relative) name; their full paths as ``str``."""
    paths = []
    for name in names:
        target = os.path.normpath(os.fsencode(root) + b"/" + os.fsencode(name))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(ITAR)
        paths.append(os.fsdecode(target))
    return paths


@pytest.fixture
def hostile_tree(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "tree"
    root.mkdir()
    return root, make_tree(root, HOSTILE)


def _plain_table_paths(stdout: str) -> list[str]:
    # Issue 8 moved the summary line to stderr and put a header first.
    lines = assert_safe_lines(stdout)
    rows = lines[1:]
    assert lines[0].split("\t")[0] == "path", lines[0]
    for row in rows:
        assert len(row.split("\t")) in (4, 5), f"a name broke the columns: {row!r}"
    return [unvisible(row.split("\t")[0]) for row in rows]


def test_plain_scan_table_one_row_per_file(
        hostile_tree: tuple[Path, list[str]], dlpd_config: Callable[..., Path],
        run_dlpd: Callable[..., DlpdRun], tmp_path: Path) -> None:
    root, paths = hostile_tree
    res = run_dlpd("scan", root, "--config", dlpd_config(tmp_path / "cfg"), "--format", "table")
    assert res.returncode == 1, res.describe()
    assert sorted(_plain_table_paths(res.stdout)) == sorted(paths)
    assert not re.search(r"^CEF:", res.stdout, re.MULTILINE)


_byte_names = st.lists(
    st.binary(min_size=1, max_size=24).filter(
        lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")),
    min_size=1, max_size=6, unique=True)


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=_byte_names)
def test_any_file_names_through_the_plain_table(
        names: list[bytes], dlpd_config: Callable[..., Path],
        run_dlpd: Callable[..., DlpdRun]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        paths = make_tree(root, [os.fsdecode(n) for n in names])
        res = run_dlpd("scan", root, "--config", dlpd_config(Path(tmp) / "cfg"))
        assert res.returncode == 1, res.describe()
        assert sorted(_plain_table_paths(res.stdout)) == sorted(paths)


def test_scan_json_lines_one_record_per_file(
        hostile_tree: tuple[Path, list[str]], dlpd_config: Callable[..., Path],
        run_dlpd: Callable[..., DlpdRun], tmp_path: Path) -> None:
    root, paths = hostile_tree
    cfg = dlpd_config(tmp_path / "cfg")
    res = run_dlpd("scan", root, "--config", cfg, "--format", "jsonl")
    assert res.returncode == 1, res.describe()
    assert len(res.stdout.splitlines()) == len(paths) == len(res.records())
    doc = run_dlpd("scan", root, "--config", cfg, "--format", "json", "--no-cache")
    assert not set(LINE_BREAKS[1:]) & set(doc.stdout), "only LF may end a line of JSON"
    assert len(json.loads(doc.stdout)["files"]) == len(paths)


def test_rules_test_one_line_per_file(
        hostile_tree: tuple[Path, list[str]], dlpd_config: Callable[..., Path],
        run_dlpd: Callable[..., DlpdRun], tmp_path: Path) -> None:
    _root, paths = hostile_tree
    res = run_dlpd("rules", "test", *paths[:8], "--config", dlpd_config(tmp_path / "cfg"))
    assert res.returncode == 1, res.describe()
    heads = [line for line in assert_safe_lines(res.stdout) if not line.startswith("  ")]
    assert [unvisible(h.rsplit(": ", 1)[0]) for h in heads] == paths[:8]


# -- on a terminal: rich renders the tables ---------------------------------------------

# What rich itself writes: SGR colours, cursor show/hide and line erasing for the
# transient progress bar. Anything else starting with ESC came from data.
_RICH_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_terminal(*args: str | os.PathLike[str], timeout: float = 120.0) -> tuple[int, str]:
    """``dlpd ARGS`` with stdout on a pseudo-terminal 400 columns wide: rich's code path.
    Returns the exit code and what reached the terminal (CR LF as LF)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 400, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "400", "LINES": "60"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*DLPD, *(os.fspath(a) for a in args)], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"{args} did not finish within {timeout:.0f}s on a terminal")
        assert proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", "replace")
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        with contextlib.suppress(Exception):
            proc.stderr.close()  # type: ignore[union-attr]
    out = b"".join(chunks).decode("utf-8")
    assert "MarkupError" not in err and "Traceback" not in err, err[-3000:]
    return code, out.replace("\r\n", "\n")


def assert_terminal_safe(out: str) -> str:
    """Nothing from data acted on the terminal; the text that was drawn."""
    assert "\x1b]" not in out, "an OSC sequence (hyperlink, title) reached the terminal"
    assert "\x1b[2J" not in out and "\x9b" not in out
    drawn = _RICH_CSI.sub("", out)
    assert "\x1b" not in drawn
    # Rich's progress bar redraws with CR; nothing else may.
    drawn = drawn.replace("\r", "")
    assert_safe_lines(drawn)
    for line in drawn.split("\n"):
        assert not line.lstrip("│┃║ ").startswith("CEF:"), f"forged line: {line!r}"
    return drawn


def test_scan_table_on_a_terminal(
        hostile_tree: tuple[Path, list[str]], dlpd_config: Callable[..., Path],
        tmp_path: Path) -> None:
    root, paths = hostile_tree
    code, out = run_on_terminal("scan", root, "--config", dlpd_config(tmp_path / "cfg"))
    assert code == 1, out[-3000:]
    drawn = assert_terminal_safe(out)
    for path in paths:
        assert visible(path) in drawn, f"{path!r} is not shown as {visible(path)!r}"
    assert "[link=http:/evil]click[/link].txt" in drawn  # the walk collapsed the //
    assert ":smile: :warning:.txt" in drawn


# -- alerts, notes, the access log: a real store through the real CLI --------------------

SINKS = (repo.SinkRoute("log"),)
NOTE = "looking\n    2024-01-01 00:00:00  root -> resolved: forged\x1b[2J [red]x[/red]"


@pytest.fixture
def alert_store(tmp_path: Path) -> tuple[Path, list[str]]:
    db = tmp_path / "dlpd.db"
    engine = open_engine(f"sqlite:///{db}")
    paths = [f"/home/a/{name}" for name in HOSTILE]
    with transaction(engine) as conn:
        for n, path in enumerate(paths):
            now = 1_700_000_000.0 + n
            repo.raise_alert(conn, Alert(
                id=0, created=now, updated=now, host="ws\x1b[2J\n01", path=path,
                sha256=f"{n:064x}", label="export-controlled", labels=("export-controlled",),
                categories=("export-control",), rules=("itar_marking",), severity=Severity.HIGH,
                reason="outside /data/itar\nCEF:0|Forged|x|1|s|n|10|",
                provenance=f"copy of {display_path(path)}", status=AlertStatus.OPEN), SINKS)
    agg = AccessAggregator(60, host="fs-a")
    for n, path in enumerate(paths):
        agg.record(path, "modified", ("export-controlled",), 1_700_000_000.0 + n,
                   actor=Actor(42, uid=1000, user="bob\x1b[31m\u202e",
                               exe="/tmp/cat\x1b]0;pwned\x07\n[link=http:evil]x",
                               cmdline="cat \x1b[2J\n/etc/\udcffshadow"))
    agg.flush(engine, 1_700_000_100.0)
    engine.dispose()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n[[sinks]]\ntype = "jsonl"\n'
                   f'name = "log"\npath = "{tmp_path / "alerts.jsonl"}"\n')
    return cfg, paths


def test_alerts_list_plain_and_json_lines(
        alert_store: tuple[Path, list[str]], run_dlpd: Callable[..., DlpdRun]) -> None:
    cfg, paths = alert_store
    res = run_dlpd("alerts", "list", "--config", cfg)
    assert res.returncode == 0, res.describe()
    header, *rows = assert_safe_lines(res.stdout)
    assert header.split("\t")[5] == "path"
    assert [unvisible(r.split("\t")[5]) for r in rows] == paths
    jsonl = run_dlpd("alerts", "list", "--config", cfg, "--format", "jsonl")
    assert len(jsonl.stdout.splitlines()) == len(jsonl.records()) == len(paths)


def test_alerts_list_and_access_on_a_terminal(alert_store: tuple[Path, list[str]]) -> None:
    cfg, paths = alert_store
    code, out = run_on_terminal("alerts", "list", "--config", cfg)
    assert code == 0, out[-3000:]
    drawn = assert_terminal_safe(out)
    for path in paths:
        assert visible(path) in drawn
    code, out = run_on_terminal("access", "list", "--config", cfg)
    assert code == 0, out[-3000:]
    drawn = assert_terminal_safe(out)
    # The program's name is the base name of the executable /proc gave (data: escaped).
    assert "cat\\x1b]0;pwned\\x07\\n[link=http:evil]x" in drawn


def test_access_list_plain(alert_store: tuple[Path, list[str]],
                           run_dlpd: Callable[..., DlpdRun]) -> None:
    cfg, paths = alert_store
    res = run_dlpd("access", "list", "--config", cfg)
    assert res.returncode == 0, res.describe()
    header, *rows = assert_safe_lines(res.stdout)
    assert header.split("\t")[2:6] == ["host", "kind", "count", "path"]
    assert sorted(unvisible(r.split("\t")[5]) for r in rows) == sorted(paths)


def test_a_triage_note_cannot_forge_history(
        alert_store: tuple[Path, list[str]], run_dlpd: Callable[..., DlpdRun]) -> None:
    cfg, paths = alert_store
    assert run_dlpd("alerts", "ack", "1", "--note", NOTE, "--author", "eve\nroot",
                    "--config", cfg).returncode == 0
    res = run_dlpd("alerts", "show", "1", "--config", cfg)
    assert res.returncode == 0, res.describe()
    lines = assert_safe_lines(res.stdout)
    notes = lines[lines.index("  notes:") + 1:]
    assert len(notes) == 1, notes
    assert notes[0].endswith(f"eve\\nroot -> acknowledged: {visible(NOTE)}")
    assert f"  path:        {visible(paths[0])}" in lines
    assert not any(line.startswith("CEF:") for line in lines)


def test_siem_exports_one_record_per_alert(
        alert_store: tuple[Path, list[str]], run_dlpd: Callable[..., DlpdRun]) -> None:
    cfg, paths = alert_store
    cef = run_dlpd("alerts", "export", "--format", "cef", "--config", cfg)
    assert cef.returncode == 0, cef.describe()
    records = assert_safe_lines(cef.stdout)
    assert len(records) == len(cef.stdout.splitlines()) == len(paths)
    assert all(r.startswith("CEF:0|dlpd|dlpd|") for r in records)
    ecs = run_dlpd("alerts", "export", "--format", "ecs", "--config", cfg)
    assert len(ecs.stdout.splitlines()) == len(ecs.records()) == len(paths)
    assert ecs.records()[0]["file"]["path"] == paths[0]


# -- the status text --------------------------------------------------------------------

def test_status_text_escapes_roots_and_sink_errors(tmp_path: Path) -> None:
    status: dict[str, Any] = {
        "state": "running", "uptime": 5.0, "status_age": 1.0,
        "daemon": {"pid": 1, "version": "x", "roots": ["/srv/a\nforged: yes", "/srv/\x1b[2J"],
                   "host": "fs-a\nforged: host",
                   "watched_dirs": 3, "backend": "inotify", "unwatched": ["/u\u2028v"],
                   "queue_depth": 0, "oldest_queued_age": None, "in_flight": 0,
                   "last_full_crawl": None, "events": 0, "overflows": 0, "scanned": 0},
        "open_alerts": {},
        "sinks": {"hook\n  sink forged: 0 pending": {
            "pending": 1, "oldest_age": 2.0, "last_error": "502 from server: \x1b]8;;x\x07"}},
    }
    with open(tmp_path / "out", "w+", encoding="utf-8") as out:
        status_text(status, out)
        out.seek(0)
        text = out.read()
    lines = assert_safe_lines(text)
    assert len(lines) == 10, lines  # the host's line included, its newline escaped
    assert not any(line.startswith("  sink forged") or line.startswith("forged")
                   for line in lines)

