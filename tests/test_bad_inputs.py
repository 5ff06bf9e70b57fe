"""Hostile and broken inputs: each ends in its own outcome and the scan always finishes.

Every test scans a directory holding the bad input next to ``canary.txt`` (a CUI banner),
then checks: exit code 0/1 (never 2), no traceback on stderr, the bad input's record says
what the contract says, and the canary was still found (one bad file never stops a scan).
"""

from __future__ import annotations

import base64
import errno
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import corpus_formats as fmt
import pytest
from conftest import DROP_CAPABILITIES

CANARY = "canary.txt"
CANARY_TEXT = b"CUI//SP-PRVCY\nCONTROLLED UNCLASSIFIED INFORMATION\nStudy roster.\n"
SCAN_TIMEOUT = 120.0


class Scan:
    """One scan of one directory, with its records keyed by file name."""

    def __init__(self, directory: Path, run: Any) -> None:
        self.directory = directory
        self.run = run
        self.by_path = run.by_path()

    def get(self, name: str | bytes) -> dict[str, Any] | None:
        path = os.path.join(os.fsencode(self.directory), os.fsencode(name))
        return self.by_path.get(os.fsdecode(path))

    def record(self, name: str) -> dict[str, Any]:
        rec = self.get(name)
        assert rec is not None, (
            f"{name}: no record; reported paths: {sorted(self.by_path)}\n{self.run.describe()}"
        )
        return rec

    def check(self, canary: bool = True) -> None:
        self.run.assert_finished_cleanly()
        if canary:
            rec = self.record(CANARY)
            assert (rec["outcome"], rec["categories"]) == ("ok", ["cui"]), (
                f"the canary next to the bad input was not found: {rec}"
            )
            assert self.run.returncode == 1, "a sensitive file was found, so exit code 1"


@pytest.fixture
def scan_dir(
    tmp_path: Path, dlpd_config: Callable[..., Path], scan_jsonl: Callable[..., Any]
) -> Callable[..., Scan]:
    """``scan_dir(directory=None, extra_config="", **run_kw)``: put the canary in the
    directory (default ``tmp_path/"tree"``), scan it, return a ``Scan``."""

    def scan(directory: Path | None = None, extra_config: str = "", **run_kw: Any) -> Scan:
        directory = directory or tmp_path / "tree"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CANARY).write_bytes(CANARY_TEXT)
        config = dlpd_config(run_kw.pop("state", tmp_path / "state"), extra_config)
        run_kw.setdefault("timeout", SCAN_TIMEOUT)
        return Scan(directory, scan_jsonl(directory, config=config, **run_kw))

    return scan


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    path = (tmp_path / "tree").resolve()
    path.mkdir()
    return path


def assert_outcome(rec: dict[str, Any], outcome: str, reason: str | None = None) -> None:
    assert rec["outcome"] == outcome, (
        f"{rec['path']}: expected outcome {outcome!r}, got {rec['outcome']!r} "
        f"(reason {rec.get('reason')!r}, categories {rec.get('categories')})"
    )
    if reason is not None:
        assert isinstance(rec.get("reason"), str) and re.search(reason, rec["reason"], re.I), (
            f"{rec['path']}: reason {rec.get('reason')!r} does not mention {reason!r}"
        )


# -- budgets ----------------------------------------------------------------------------------


def test_zip_bomb_by_ratio(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    (tree / "bomb.zip").write_bytes(fmt.zip_bomb(64 * 1024 * 1024))
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("bomb.zip"), "limit_exceeded", "max_ratio")


def test_overlapping_zip_entries(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    (tree / "overlap.zip").write_bytes(fmt.overlapping_zip())
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("overlap.zip"), "limit_exceeded", "zip_overlap")


def test_twenty_deep_nested_zip(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    (tree / "nested20.zip").write_bytes(fmt.nested_zip(20, "leaf.txt", b"nothing here\n"))
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("nested20.zip"), "limit_exceeded", "max_archive_depth")


def test_too_many_members(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    entries = [(f"m{i:04d}.txt", b"x\n") for i in range(150)]
    (tree / "many.zip").write_bytes(fmt.zip_bytes(entries))
    scan = scan_dir(tree, extra_config="[limits]\nmax_members = 100\n")
    scan.check()
    assert_outcome(scan.record("many.zip"), "limit_exceeded", "max_members")


def test_total_uncompressed_budget(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    rng = random.Random("total")
    entries = [(f"part{i}.bin", rng.randbytes(4 * 1024 * 1024)) for i in range(3)]
    (tree / "big.zip").write_bytes(fmt.zip_bytes(entries))
    scan = scan_dir(tree, extra_config='[limits]\nmax_total_uncompressed = "8MiB"\n')
    scan.check()
    assert_outcome(scan.record("big.zip"), "limit_exceeded", "max_total_uncompressed")


def test_sparse_2g_file_stops_at_max_scan_bytes(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    big = tree / "sparse.img"
    with big.open("wb") as f:
        f.truncate(2 * 1024**3)
    if big.stat().st_blocks * 512 > 64 * 1024 * 1024:
        pytest.skip("the filesystem does not keep sparse files sparse")
    started = time.monotonic()
    scan = scan_dir(tree, timeout=90)
    elapsed = time.monotonic() - started
    scan.check()
    assert_outcome(scan.record("sparse.img"), "limit_exceeded", "max_scan_bytes")
    assert elapsed < 30, f"a 2 GiB sparse file took {elapsed:.1f}s; it must stop after 256 MiB"


# -- broken documents and streams -------------------------------------------------------------


def test_truncated_docx(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    data = fmt.docx_bytes([["Credit card number: 4111 1111 1111 1111"]] * 40, header=["社外秘"])
    (tree / "cut.docx").write_bytes(data[: len(data) * 6 // 10])
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("cut.docx"), "error")


def test_truncated_pdf(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    rng = random.Random("pdf")
    filler = b"".join(b"BT /F1 9 Tf 72 %d Td (%s) Tj ET\n" % (
        700 - i, "".join(rng.choice("bdfghklmnpqrtvwxz ") for _ in range(60)).encode()
    ) for i in range(400))
    data = fmt.pdf_bytes(b"BT /F1 12 Tf 72 740 Td (CUI//SP-PRVCY) Tj ET\n" + filler)
    stream_start = data.index(b"stream\n") + len(b"stream\n")
    stream_end = data.index(b"\nendstream")
    (tree / "cut.pdf").write_bytes(data[: (stream_start + stream_end) // 2])
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("cut.pdf"), "error")


def _consonant_prose(rng: random.Random, size: int) -> bytes:
    """Filler that compresses poorly and can spell no keyword: no digits, no vowels, and
    none of c, j, s (so no 'ssn', 'cvc', 'jcb')."""
    words = ("".join(rng.choice("bdfghklmnpqrtvwxz") for _ in range(rng.randint(3, 9)))
             for _ in range(size // 6))
    return " ".join(words).encode()[:size]


def test_truncated_gz(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    text = b"CUI//SP-PRVCY\n" + _consonant_prose(random.Random("gz"), 400_000)
    data = fmt.gzip_bytes(text)
    (tree / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    scan = scan_dir(tree)
    scan.check()
    rec = scan.record("cut.txt.gz")
    assert_outcome(rec, "error")
    # What was decompressed before the cut may still be scanned; nothing else may appear.
    assert rec["categories"] in ([], ["cui"]), rec


def test_encrypted_zip_member(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    """An encrypted member cannot be read: an error naming the encryption (errors.py:
    ExtractionError covers 'malformed, truncated, encrypted'), never a silent clean ok."""
    (tree / "locked.zip").write_bytes(
        fmt.encrypted_zip("roster.txt", CANARY_TEXT, b"hunter2", random.Random("enc"))
    )
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("locked.zip"), "error", r"encrypt|password")


def test_zip_slip_member_names_write_nothing(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    """Member names that climb out of the tree are only names: nothing is written."""
    escapes = [tree.parent / "escaped.txt", tree.parent.parent / "escaped.txt",
               Path("/tmp/dlpd-absolute-escape.txt")]
    (tree / "slip.zip").write_bytes(fmt.zip_bytes([
        ("../../escaped.txt", CANARY_TEXT), (str(escapes[2]), CANARY_TEXT),
    ]))
    scan = scan_dir(tree, cwd=tree)  # a relative extraction would land in escapes[1]
    scan.check()
    written = [p for p in escapes if p.exists()]
    assert not written, f"the scan wrote files outside the tree: {written}"
    rec = scan.record("slip.zip")
    assert rec["outcome"] in ("ok", "error"), rec


# -- special files ----------------------------------------------------------------------------


def test_fifo_is_skipped_without_hanging(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    os.mkfifo(tree / "pipe")
    scan = scan_dir(tree, timeout=60)  # nothing ever writes: opening it for reading blocks
    scan.check()
    assert_outcome(scan.record("pipe"), "skipped")


def test_unix_socket_is_skipped(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    path = tree / "ctl.sock"
    if len(os.fsencode(path)) >= 100:
        pytest.skip(f"socket path too long for AF_UNIX: {path}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(os.fspath(path))
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("ctl.sock"), "skipped")


def test_symlink_is_not_followed(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    (tree / "link.txt").symlink_to(CANARY)
    scan = scan_dir(tree)
    scan.check()
    rec = scan.record("link.txt")
    assert_outcome(rec, "skipped")
    assert rec["categories"] == [], f"the link's target was read: {rec}"


def test_symlink_loop_is_skipped(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    (tree / "a").symlink_to("b")
    (tree / "b").symlink_to("a")
    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("a"), "skipped")
    assert_outcome(scan.record("b"), "skipped")


def test_directory_symlink_loop_is_not_walked(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    (tree / "sub").mkdir()
    (tree / "sub" / "up").symlink_to("..")
    scan = scan_dir(tree)
    scan.check()
    through = [p for p in scan.by_path if f"{os.sep}up{os.sep}" in p]
    assert not through, f"walked through a directory symlink: {through[:5]}"
    rec = scan.get("sub/up")
    if rec is not None:
        assert_outcome(rec, "skipped")


def test_empty_file_is_ok(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    (tree / "empty.bin").write_bytes(b"")
    scan = scan_dir(tree)
    scan.check()
    rec = scan.record("empty.bin")
    assert_outcome(rec, "ok")
    assert (rec["size"], rec["categories"]) == (0, [])


def test_non_utf8_file_name(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    name = b"r\xe9sum\xe9-\xff.txt"  # Latin-1 bytes: not valid UTF-8
    fd = os.open(os.path.join(os.fsencode(tree), name), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, CANARY_TEXT)
    os.close(fd)
    scan = scan_dir(tree)  # the run helper already demands strictly valid UTF-8 on stdout
    scan.check()
    others = [rec for p, rec in scan.by_path.items() if not p.endswith(CANARY)]
    assert len(others) == 1, f"the non-UTF-8 name was not reported once: {list(scan.by_path)}"
    rec = others[0]
    assert os.path.basename(rec["path"]).startswith("r") and rec["path"].endswith(".txt"), rec
    assert_outcome(rec, "ok")
    assert rec["categories"] == ["cui"], rec
    # `path` is readable text; `path_b64` gives back the exact bytes of the name.
    assert base64.b64decode(rec["path_b64"]) == os.path.join(os.fsencode(tree), name)


# -- permissions ------------------------------------------------------------------------------


@pytest.fixture
def shared_tree() -> Iterator[tuple[Path, bool]]:
    """A tree to scan, and whether dlpd must drop its capabilities to be refused by file
    modes: it must when we are root (root reads everything). It keeps uid 0, so it still
    reaches the checkout's venv wherever the checkout lives (under a 0700 /root too)."""
    drop = os.geteuid() == 0
    if drop:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot drop capabilities")
        probe = subprocess.run([*DROP_CAPABILITIES, "true"], capture_output=True, check=False)
        if probe.returncode != 0:
            pytest.skip(f"setpriv cannot drop capabilities: {probe.stderr!r}")
    base = Path(tempfile.mkdtemp(prefix="dlpd-perm-"))
    state = base / "state"
    state.mkdir()
    try:
        yield base, drop
    finally:
        for dirpath, dirnames, _ in os.walk(base):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(base)


def _scan_as(shared: tuple[Path, bool], scan_dir: Callable[..., Scan]) -> Scan:
    base, drop = shared
    state = base / "state"
    env = {"HOME": str(state)}
    return scan_dir(base / "tree", state=state, unprivileged=drop, env=env, cwd=state)


def test_permission_denied_file(
    shared_tree: tuple[Path, bool], scan_dir: Callable[..., Scan]
) -> None:
    tree = shared_tree[0] / "tree"
    tree.mkdir(mode=0o755)
    secret = tree / "locked.txt"
    secret.write_bytes(CANARY_TEXT)
    secret.chmod(0)
    (tree / CANARY).write_bytes(CANARY_TEXT)
    (tree / CANARY).chmod(0o644)
    scan = _scan_as(shared_tree, scan_dir)
    scan.check()
    assert_outcome(scan.record("locked.txt"), "error", "permission")


def test_permission_denied_directory(
    shared_tree: tuple[Path, bool], scan_dir: Callable[..., Scan]
) -> None:
    tree = shared_tree[0] / "tree"
    (tree / "locked").mkdir(parents=True)
    (tree / "locked" / "inside.txt").write_bytes(CANARY_TEXT)
    (tree / "locked").chmod(0)
    tree.chmod(0o755)
    scan = _scan_as(shared_tree, scan_dir)
    scan.check()  # the unreadable directory does not stop the walk
    inside = [p for p in scan.by_path if "inside.txt" in p]
    for p in inside:
        assert scan.by_path[p]["outcome"] != "ok", f"read a file in an unreadable directory: {p}"


# -- races ------------------------------------------------------------------------------------

VANISHED = re.compile(r"vanish|not found|no such file|ENOENT|deleted", re.I)


def test_files_deleted_mid_scan(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    rng = random.Random("delete")
    names = [f"f{i:04d}.txt" for i in range(1500)]
    for name in names:
        (tree / name).write_bytes(_consonant_prose(rng, 4096))
    doomed = rng.sample(names, len(names) // 2)
    stop = threading.Event()

    def delete() -> None:
        time.sleep(0.3)  # let the interpreter start; then spread deletions over the scan
        for name in doomed:
            if stop.is_set():
                return
            try:
                (tree / name).unlink()
            except OSError as exc:
                assert exc.errno == errno.ENOENT
            time.sleep(0.002)

    deleter = threading.Thread(target=delete, name="deleter")
    deleter.start()
    try:
        scan = scan_dir(tree)
    finally:
        stop.set()
        deleter.join()
    scan.check()
    seen: dict[str, int] = {}
    for name in names:
        rec = scan.get(name)
        if name not in doomed:
            assert rec is not None and rec["outcome"] == "ok", f"{name} kept but {rec}"
            continue
        if rec is None:
            seen["absent"] = seen.get("absent", 0) + 1
            continue
        seen[rec["outcome"]] = seen.get(rec["outcome"], 0) + 1
        if rec["outcome"] == "error":
            assert VANISHED.search(rec.get("reason") or ""), f"{name}: {rec}"
        else:
            assert rec["outcome"] == "ok", f"{name} deleted mid-scan: {rec}"
    print(f"deleted files: {seen}")


def test_file_changing_while_read(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    """A writer rewrites bytes in place every millisecond for the whole scan, and a read
    of 64 MiB takes far longer than that, so every read overlaps a write. The file is still
    classified from what was read (an insider cannot hide a file by touching it forever),
    and the outcome says it was changing."""
    path = tree / "growing.log"
    size = 64 * 1024 * 1024
    banner = (b"Technical data controlled under the International Traffic in Arms Regulations"
              b" (ITAR), 22 CFR 120-130.\n")
    with path.open("wb") as f:
        line = b"2024-01-02 ok sample processed\n"
        f.write(banner + line * ((size - len(banner)) // len(line)))
    stop = threading.Event()

    def scribble() -> None:
        rng = random.Random("scribble")
        fd = os.open(path, os.O_WRONLY)
        try:
            while not stop.is_set():
                os.pwrite(fd, b"X", rng.randrange(len(banner), size - 1))
                time.sleep(0.001)
        finally:
            os.close(fd)

    writer = threading.Thread(target=scribble, name="scribbler")
    writer.start()
    try:
        scan = scan_dir(tree)
    finally:
        stop.set()
        writer.join()
    scan.check()
    record = scan.record("growing.log")
    assert_outcome(record, "unstable")
    assert "export-control" in record["categories"], record
    assert "still changing" in (record["reason"] or ""), record


# -- bad invocations: these, and only these, exit 2 -------------------------------------------


def test_bad_format_argument_exits_2(tmp_path: Path, run_dlpd: Callable[..., Any]) -> None:
    run = run_dlpd("scan", tmp_path, "--format", "xml", timeout=60)
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr, run.stderr


def test_unknown_config_key_exits_2(
    tmp_path: Path, dlpd_config: Callable[..., Path], run_dlpd: Callable[..., Any]
) -> None:
    config = dlpd_config(tmp_path, "[limits]\nmax_ratoi = 10\n")
    run = run_dlpd("scan", tmp_path, "--format", "jsonl", "--config", config, timeout=60)
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr, run.stderr
    assert "max_ratoi" in run.stderr, f"the error should name the bad key: {run.stderr!r}"


def test_missing_config_file_exits_2(tmp_path: Path, run_dlpd: Callable[..., Any]) -> None:
    run = run_dlpd("scan", tmp_path, "--config", tmp_path / "nope.toml", timeout=60)
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr, run.stderr


# -- research storage (issue 10) ---------------------------------------------------------------


def _notebook(cells: list[dict[str, Any]]) -> bytes:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1, sort_keys=True).encode()


def _code_cell(source: str, output: str = "") -> dict[str, Any]:
    outputs = [{"name": "stdout", "output_type": "stream", "text": output}] if output else []
    return {"cell_type": "code", "execution_count": 1, "id": "c", "metadata": {},
            "outputs": outputs, "source": source}


def test_broken_research_files_in_one_scan(tree: Path, scan_dir: Callable[..., Scan]) -> None:
    """A corrupt SQLite file, an encrypted-looking one, a notebook with a 50 MB output and
    a truncated notebook sit together: each gets its own outcome, what could be read still
    counts, and the scan goes on to the canary."""
    db = tree / "study.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (ssn TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("078-05-1120",)] * 200)
    conn.close()
    good = db.read_bytes()
    (tree / "corrupt.db").write_bytes(good[:100] + bytes(random.Random(1).randbytes(4000)))
    (tree / "encrypted.sqlite").write_bytes(random.Random(2).randbytes(64 * 1024))
    db.unlink()
    big = _notebook([_code_cell("print(x)", "0123456789abcdef\n" * (50 * 1024 * 1024 // 17)),
                     {"cell_type": "markdown", "id": "m", "metadata": {},
                      "source": "社外秘\n研究計画\n"}])
    (tree / "big.ipynb").write_bytes(big)
    cut = _notebook([{"cell_type": "markdown", "id": "m", "metadata": {},
                      "source": "【社外秘】共同研究の条件\n"},
                     _code_cell("x = 1\n" * 2000)])
    (tree / "cut.ipynb").write_bytes(cut[: len(cut) // 2])

    scan = scan_dir(tree)
    scan.check()
    assert_outcome(scan.record("corrupt.db"), "error", "malformed database|not a database")
    assert_outcome(scan.record("encrypted.sqlite"), "ok")
    big_rec = scan.record("big.ipynb")
    assert_outcome(big_rec, "limit_exceeded", "cell-1: text cut")
    assert [d["member"] for d in big_rec["detections"]] == ["big.ipynb!cell-2"]
    cut_rec = scan.record("cut.ipynb")
    assert_outcome(cut_rec, "error", "malformed notebook")
    assert "jp-confidential" in cut_rec["categories"]
