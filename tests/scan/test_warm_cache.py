"""The incremental cache looked up along the walk, one directory at a time: unchanged
files answered from the store, changed ones read, vanished ones forgotten, and memory that
does not grow with the tree.

Real walk, real classifier and rules, a real SQLite store.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from dlpd.classify.classifier import Classifier
from dlpd.cli.render import jsonl_line
from dlpd.config import Settings
from dlpd.model import Confidence, Detection, FileResult, FileStat, Outcome
from dlpd.scan.pathfilter import PathFilter
from dlpd.scan.runner import ScanOptions, ScanSummary, run_scan
from dlpd.store import files as repo
from dlpd.store.db import Engine, EngineStore, open_engine, transaction
from dlpd.store.direct import DirectStore, open_direct
from dlpd.store.sql import Transactions
from dlpd.textsafe import json_text
from dlpd.wiring import build_classifier

ITAR = (b"WARNING - This document contains technical data whose export is restricted by the\n"
        b"Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
        b"Traffic in Arms Regulations (ITAR), 22 CFR 120-130.\n")
LONG_AGO = time.time() - 3600  # stored rows of files this old are not racy

# The host ScanOptions scans as by default (whose cache rows these are).
HOST = socket.gethostname()


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return build_classifier(Settings())


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")


def _direct(path: Path) -> DirectStore:
    """The store as `dlpd scan` opens it: created by the engine, then through sqlite3."""
    url = f"sqlite:///{path}"
    open_engine(url).dispose()
    store = open_direct(url)
    assert store is not None
    return store


@pytest.fixture(params=["direct", "engine"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Transactions]:
    """Both ways a scan reaches the store: sqlite3 directly (`dlpd scan`) and SQLAlchemy's
    engine (the daemon's crawls, PostgreSQL)."""
    if request.param == "direct":
        direct = _direct(tmp_path / "dlpd.db")
        yield direct
        direct.close()
        return
    engine = open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")
    yield EngineStore(engine)
    engine.dispose()


def _write(path: Path | bytes, data: bytes, mtime: float = LONG_AGO) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


def _scan(root: Path | bytes, classifier: Classifier, store: Transactions,
          pathfilter: PathFilter | None = None) -> tuple[ScanSummary, dict[bytes, FileResult]]:
    seen: dict[bytes, FileResult] = {}
    summary = run_scan([os.fsdecode(root)], classifier, store, pathfilter or PathFilter([]),
                       ScanOptions(jobs=1), lambda r: seen.__setitem__(os.fsencode(r.path), r))
    return summary, seen


def _stored(store: Transactions, root: Path | bytes) -> set[bytes]:
    with store.transaction() as sql:
        return {os.fsencode(p)
                for p in repo.paths_under(sql, os.fsdecode(root), host=HOST)}


def _tree(root: Path) -> set[bytes]:
    """Files at three depths, one with findings; returns their keys."""
    for rel in ("top.txt", "a/one.txt", "a/deep/two.txt", "a/deep/three.txt", "b/four.txt"):
        _write(root / rel, f"harmless {rel}\n".encode())
    _write(root / "a" / "itar.txt", ITAR)
    return {os.fsencode(p) for p in root.rglob("*") if p.is_file()}


def test_unchanged_files_come_from_the_cache_and_a_changed_one_is_read(
        tmp_path: Path, classifier: Classifier, store: Transactions) -> None:
    root = tmp_path / "root"
    files = _tree(root)
    cold, first = _scan(root, classifier, store)
    assert (cold.read, cold.cached) == (len(files), 0)
    warm, again = _scan(root, classifier, store)
    assert (warm.read, warm.cached, warm.forgotten) == (0, len(files), 0)
    assert set(again) == files and all(r.cached for r in again.values())
    itar = os.fsencode(root / "a" / "itar.txt")
    # The stored findings come back with the cached result, as they were.
    assert again[itar].detections == first[itar].detections != ()
    assert again[itar].labels == first[itar].labels
    _write(root / "a" / "deep" / "two.txt", ITAR, mtime=LONG_AGO + 60)
    changed, third = _scan(root, classifier, store)
    assert (changed.read, changed.cached) == (1, len(files) - 1)
    two = third[os.fsencode(root / "a" / "deep" / "two.txt")]
    assert not two.cached and two.detections


def test_vanished_files_and_directories_are_forgotten(
        tmp_path: Path, classifier: Classifier, store: Transactions) -> None:
    root = tmp_path / "root"
    _tree(root)
    _write(root / "c" / "x" / "y" / "five.txt", b"five\n")
    _write(root / "skip" / "six.txt", b"six\n")
    _write(root / "was-a-file", b"seven\n")
    _scan(root, classifier, store)
    os.unlink(root / "a" / "one.txt")  # a file
    shutil.rmtree(root / "a" / "deep")  # a directory and all below it
    shutil.rmtree(root / "c")  # a directory whose files lie deeper still
    shutil.rmtree(root / "b")
    _write(root / "b", b"a file where a directory was\n")
    os.unlink(root / "was-a-file")
    _write(root / "was-a-file" / "inner.txt", b"a directory where a file was\n")
    summary, seen = _scan(root, classifier, store, PathFilter(["skip/"]))
    kept = {os.fsencode(root / p) for p in ("top.txt", "a/itar.txt", "b",
                                            "was-a-file/inner.txt")}
    assert set(seen) == kept
    # What the store knew and the walk did not meet: the pruned directory's file too.
    assert _stored(store, root) == kept
    assert summary.forgotten == 7, summary  # one, two, three, four, five, six, was-a-file
    again, _ = _scan(root, classifier, store, PathFilter(["skip/"]))
    assert (again.cached, again.forgotten) == (4, 0)


def test_a_directory_is_not_its_longer_namesakes(
        tmp_path: Path, classifier: Classifier, store: Transactions) -> None:
    """``a`` must not reach ``ab``, ``a0`` ('/' + 1, the range's end), ``a-`` or ``a.b``
    (sorting just before ``a/``)."""
    root = tmp_path / "root"
    names = ("a", "ab", "a0", "a-", "a.b")
    for name in names:
        _write(root / name / "f.txt", f"in {name}\n".encode())
        _write(root / name / "g.txt", f"in {name}\n".encode())
    _scan(root, classifier, store)
    os.unlink(root / "a" / "g.txt")
    summary, seen = _scan(root / "a", classifier, store)
    assert set(seen) == {os.fsencode(root / "a" / "f.txt")}
    assert (summary.cached, summary.forgotten) == (1, 1)
    assert _stored(store, root) == {os.fsencode(root / n / f) for n in names
                                     for f in ("f.txt", "g.txt")} - {
        os.fsencode(root / "a" / "g.txt")}
    shutil.rmtree(root / "a")
    summary, _ = _scan(root, classifier, store)
    assert (summary.cached, summary.forgotten) == (8, 1)
    with store.transaction() as sql:
        assert [k for k, _ in repo.stored_children(sql, str(root), host=HOST)] == sorted(
            os.fsencode(root / n) for n in names[1:])
        assert [k for k, _ in repo.stored_children(sql, str(root / "a"), host=HOST)
                ] == []


def test_names_that_are_not_utf8(tmp_path: Path, classifier: Classifier,
                                 store: Transactions) -> None:
    root = os.fsencode(tmp_path / "root")
    d = root + b"/d\xff"
    keys = [d + b"/f\xfe.txt", d + b"/f\\xfe.txt", d + b"/\xe9t\xe9.txt", d + b"/e.txt",
            root + b"/d\xff0/x.txt", root + b"/d\xfe/y.txt"]
    for k in keys:
        _write(k, b"harmless\n")
    _write(d + b"/itar\xff.txt", ITAR)
    keys.append(d + b"/itar\xff.txt")
    cold, _ = _scan(root, classifier, store)
    assert cold.read == len(keys)
    warm, seen = _scan(root, classifier, store)
    assert (warm.cached, warm.read, warm.forgotten) == (len(keys), 0, 0)
    assert set(seen) == set(keys) and seen[d + b"/itar\xff.txt"].detections
    os.unlink(d + b"/f\xfe.txt")
    summary, _ = _scan(d, classifier, store)
    assert (summary.cached, summary.forgotten) == (4, 1)
    assert _stored(store, root) == set(keys) - {d + b"/f\xfe.txt"}


def test_stored_children_are_paged_and_skip_subtrees(engine: Engine) -> None:
    """A directory's stored children cost one query per page and one per stored
    subdirectory, not a walk over the rows below them."""
    stat = FileStat(1, 2, 3, 10, 10)
    paths = ["/d/a", "/d/b.txt", "/d/c", "/d-x/z", "/d0"] + [
        f"/d/b/{i:04}/f" for i in range(1000)]
    with transaction(engine) as conn:
        repo.save_results(conn, [FileResult(p, Outcome.OK, stat=stat) for p in paths],
                          host=HOST, rules_version="v", scan_started_ns=time.time_ns(),
                          now=time.time())
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    with transaction(engine) as conn:
        children = list(repo.stored_children(conn, "/d", host=HOST, page=2))
    assert [(k, c is not None) for k, c in children] == [
        (b"/d/a", True), (b"/d/b.txt", True), (b"/d/b", False), (b"/d/c", True)]
    assert len(statements) <= 4, statements
    with transaction(engine) as conn:
        assert [k for k, _ in repo.stored_children(conn, "/d/b", host=HOST, page=2)][:3] == [
            b"/d/b/0000", b"/d/b/0001", b"/d/b/0002"]
        assert [k for k, _ in repo.stored_children(conn, "/", host=HOST)] == [
            b"/d-x", b"/d", b"/d0"]


def _warm_peak(root: Path, dirs: int, classifier: Classifier, store: Transactions) -> int:
    # No directory holds more than 20 entries: memory may follow the largest directory.
    for i in range(dirs):
        for j in range(10):
            _write(root / f"d{i // 20:02}" / f"e{i % 20:02}" / f"f{j}.txt", b"x\n")
    _scan(root, classifier, store)
    tracemalloc.start()
    try:
        summary = run_scan([str(root)], classifier, store, PathFilter([]),
                           ScanOptions(jobs=1), lambda r: None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.cached == dirs * 10
    return peak


def test_a_warm_rescan_does_not_hold_the_tree(tmp_path: Path, classifier: Classifier) -> None:
    """The cache of a root was loaded whole (~0.75 KB a file): 2,700 more files must not
    cost more memory at the peak (a directory's rows at a time)."""
    small = _warm_peak(tmp_path / "small", 30, classifier, _direct(tmp_path / "small.db"))
    big = _warm_peak(tmp_path / "big", 300, classifier, _direct(tmp_path / "big.db"))
    assert big - small < 400_000, (small, big)


# What a file name, a reason or a label may hold: ASCII controls and quotes, bytes that
# are not UTF-8 (lone surrogates), NEL, U+2028, bidi controls, Japanese text.
_TEXT = st.text(st.sampled_from(["a", "/", '"', "\\", "\n", "\x00", "\x1b", "\x7f", "\udcff",
                                 "\u0085", "\u2028", "\u202e", "é", "機", " "]),
                max_size=12)


@settings(max_examples=300, deadline=None)
@given(path=_TEXT, size=st.integers(0, 2**63), sha256=st.none() | _TEXT,
       mime=st.none() | _TEXT, outcome=st.sampled_from(list(Outcome)),
       reason=st.none() | _TEXT, labels=st.lists(_TEXT, max_size=3),
       xattr_labels=st.lists(_TEXT, max_size=2), cached=st.booleans(),
       detected=st.booleans())
def test_a_jsonl_line_is_the_result_json_whatever_the_text(
        path: str, size: int, sha256: str | None, mime: str | None, outcome: Outcome,
        reason: str | None, labels: list[str], xattr_labels: list[str], cached: bool,
        detected: bool) -> None:
    """A warm rescan prints each unchanged file's line from a template: byte for byte the
    line of the general path (``json_text`` of ``to_json``), escapes included."""
    dets = (Detection("r", "pii", Confidence.HIGH, 1, reasons=(reason or "",)),) if detected \
        else ()
    result = FileResult("/" + path, outcome, size, sha256, mime, reason, dets, tuple(labels),
                        cached=cached, xattr_labels=tuple(xattr_labels))
    line = jsonl_line(result)
    assert line == json_text(result.to_json())
    assert "\n" not in line and json.loads(line)["size"] == size


def test_cached_results_print_as_read_ones_did(
        tmp_path: Path, classifier: Classifier, store: Transactions) -> None:
    """Cached rows come back as the results the cold scan made (only ``cached`` differs),
    and their JSON lines say the same."""
    root = tmp_path / "root"
    _tree(root)
    _write(root / "a" / "é\u2028.txt", b"harmless\n")
    _, first = _scan(root, classifier, store)
    _, again = _scan(root, classifier, store)
    assert set(again) == set(first)
    for k, cold in first.items():
        warm = again[k]
        assert warm == dataclasses.replace(cold, cached=True, scanned_bytes=0), k
        assert jsonl_line(warm) == jsonl_line(cold).replace('"cached":false', '"cached":true')
