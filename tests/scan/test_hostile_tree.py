"""A user who can write in a scanned tree tries to make the scanner read outside it, to
hide behind long paths, and to confuse it with names that are not UTF-8.

Real file systems, the real walk and classifier, a real SQLite store.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dlpd.classify.reading import open_beneath
from dlpd.config import Settings
from dlpd.dirfd import OutsideRoot
from dlpd.model import FileResult, Outcome
from dlpd.scan.pathfilter import PathFilter
from dlpd.scan.runner import ScanOptions, run_scan
from dlpd.scan.walk import walk
from dlpd.store import files as files_repo
from dlpd.store.db import EngineStore, open_engine, transaction
from dlpd.wiring import build_classifier
from tests.conftest import DlpdRun

ITAR = (b"WARNING - This document contains technical data whose export is restricted by the\n"
        b"Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
        b"Traffic in Arms Regulations (ITAR), 22 CFR 120-130.\n")
SECRET = b"root only: " + ITAR  # what must never be read under a watched name


@pytest.fixture
def swap_tree(tmp_path: Path) -> tuple[Path, Path]:
    """``root/d`` holds harmless files; ``secret`` (outside the root) holds files of the
    same names with other content, plus a canary name that only exists there."""
    root, secret = tmp_path / "root", tmp_path / "secret"
    (root / "d").mkdir(parents=True)
    secret.mkdir()
    for n in range(20):
        (root / "d" / f"f{n:02}.txt").write_text(f"harmless {n}\n")
        (secret / f"f{n:02}.txt").write_bytes(SECRET)
    (secret / "canary-only-outside.txt").write_bytes(SECRET)
    return root, secret


def _swapper(root: Path, secret: Path, stop: threading.Event) -> None:
    """rename d away, put a symlink to ``secret`` in its place, undo; as fast as it can."""
    d, real = root / "d", root / "d.real"
    while not stop.is_set():
        os.rename(d, real)
        os.symlink(secret, d)
        time.sleep(0.0005)
        os.unlink(d)
        os.rename(real, d)


@pytest.fixture
def attacker(swap_tree: tuple[Path, Path]) -> Iterator[tuple[Path, Path]]:
    stop = threading.Event()
    thread = threading.Thread(target=_swapper, args=(*swap_tree, stop), name="attacker")
    thread.start()
    try:
        yield swap_tree
    finally:
        stop.set()
        thread.join()


def test_parent_swapped_for_a_symlink_is_never_followed(
        attacker: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = attacker
    secret_sha = hashlib.sha256(SECRET).hexdigest()
    classifier = build_classifier(Settings())
    engine = open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")
    seen: list[FileResult] = []
    deadline = time.monotonic() + 4.0
    rounds = 0
    while time.monotonic() < deadline:
        run_scan([str(root)], classifier, EngineStore(engine), PathFilter([]),
                 ScanOptions(jobs=2, use_cache=False), seen.append)
        # The daemon's way in: one file by name, opened beneath its root.
        for n in range(20):
            seen.append(classifier.classify(str(root / "d" / f"f{n:02}.txt"), root=str(root)))
        rounds += 1
    assert rounds >= 3
    leaked = [r for r in seen if r.sha256 == secret_sha or "canary" in r.path]
    assert not leaked, f"read outside the root through a swapped parent: {leaked[:3]}"
    assert not [r for r in seen if r.detections], "the root holds nothing sensitive"
    # The harmless files were read, and the swap was noticed rather than followed.
    assert any(r.outcome is Outcome.OK and r.sha256 for r in seen)
    with transaction(engine) as conn:
        stored = files_repo.copies_of(conn, secret_sha)
    assert stored == []


def test_open_beneath_refuses_symlinked_parents_and_dotdot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_bytes(SECRET)
    os.symlink(outside, root / "a" / "link")
    with pytest.raises(OutsideRoot):
        open_beneath(str(root), str(root / "a" / "link" / "f"))
    with pytest.raises(OutsideRoot):
        open_beneath(str(root), f"{root}/a/../../outside/f")
    with pytest.raises(OutsideRoot):
        open_beneath(str(root), str(outside / "f"))
    (root / "a" / "ok").write_bytes(b"fine")
    fd, st = open_beneath(str(root), str(root / "a" / "ok"))
    try:
        assert os.read(fd, 10) == b"fine"
        assert st.st_ino == os.stat(root / "a" / "ok").st_ino
    finally:
        os.close(fd)


def _mount_tmpfs(target: Path) -> Callable[[], None] | None:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "dlpd-test", str(target)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        return None
    return lambda: subprocess.run(["umount", "-l", str(target)], check=False)


def test_other_file_systems_below_a_root_are_not_entered(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "mnt").mkdir(parents=True)
    (root / "plain.txt").write_text("x")
    unmount = _mount_tmpfs(root / "mnt")
    if unmount is None:
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
    try:
        (root / "mnt" / "grafted.txt").write_bytes(ITAR)
        entries = list(walk(str(root), PathFilter([])))
        by_path = {e.path: e for e in entries}
        assert str(root / "mnt" / "grafted.txt") not in by_path
        assert by_path[str(root / "mnt")].error is not None
        assert "another file system" in str(by_path[str(root / "mnt")].error)
        crossing = list(walk(str(root), PathFilter([]), cross_devices=True))
        assert str(root / "mnt" / "grafted.txt") in {e.path for e in crossing}
        with pytest.raises(OutsideRoot):
            open_beneath(str(root), str(root / "mnt" / "grafted.txt"))
    finally:
        unmount()


def _deep(top: Path, depth: int, width: int) -> tuple[str, int]:
    """``depth`` directories of ``width`` characters below ``top``, made through
    descriptors (the path is longer than PATH_MAX); returns (path, fd of the last)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    path = str(top)
    for level in range(depth):
        name = f"{level:02}" + "d" * (width - 2)
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd, path = child, f"{path}/{name}"
    return path, fd


def test_paths_longer_than_path_max_are_scanned(tmp_path: Path,
                                               scan_jsonl: Callable[..., DlpdRun],
                                               dlpd_config: Callable[..., Path]) -> None:
    root = tmp_path / "root"
    root.mkdir()
    bottom, fd = _deep(root, depth=20, width=250)
    try:
        with open(os.open("controlled.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd),
                  "wb") as out:
            out.write(ITAR)
    finally:
        os.close(fd)
    target = f"{bottom}/controlled.txt"
    assert len(os.fsencode(target)) > 4096
    run = scan_jsonl(root, config=dlpd_config(tmp_path / "cfg"), args=("--no-cache",))
    run.assert_finished_cleanly()
    record = run.by_path().get(target)
    assert record is not None, f"not reported; {run.describe()}"
    assert record["outcome"] == "ok"
    assert "export-control" in record["categories"]


def test_names_that_are_not_utf8_are_keys_of_their_own(tmp_path: Path) -> None:
    """byte 0xff and a literal backslash-x-f-f display alike; the store keeps them apart,
    and a rescan answers both from the cache (no re-read, nothing forgotten)."""
    root = tmp_path / "root"
    root.mkdir()
    raw = os.fsencode(root) + b"/d\xff.txt"
    with open(raw, "wb") as f:
        f.write(ITAR)
    (root / "d\\xff.txt").write_text("harmless\n")
    classifier = build_classifier(Settings())
    engine = open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")
    first: list[FileResult] = []
    summary = run_scan([str(root)], classifier, EngineStore(engine), PathFilter([]),
                       ScanOptions(jobs=1), first.append)
    assert summary.read == 2
    found = {os.fsencode(r.path): r for r in first}
    assert found[raw].detections and not found[os.fsencode(root / "d\\xff.txt")].detections
    # Stored files that are racy (written within 2 s of the scan) are re-read: age them.
    for r in first:
        os.utime(os.fsencode(r.path), (time.time() - 60, time.time() - 60))
    run_scan([str(root)], classifier, EngineStore(engine), PathFilter([]), ScanOptions(jobs=1),
             lambda r: None)
    again: list[FileResult] = []
    summary = run_scan([str(root)], classifier, EngineStore(engine), PathFilter([]),
                       ScanOptions(jobs=1), again.append)
    assert (summary.cached, summary.forgotten) == (2, 0)
    with transaction(engine) as conn:
        labelled = files_repo.labelled_paths(conn, host=socket.gethostname())
    assert [os.fsencode(p) for p in labelled] == [raw]
    # The real name reaches the file system again: it exists.
    assert all(os.path.lexists(p) for p in labelled)


def test_a_subtree_scan_opens_its_start_beneath_the_trusted_root(
        swap_tree: tuple[Path, Path], tmp_path: Path) -> None:
    """The daemon crawls a new directory as a subtree of its watched root: the directory's
    own name can be a symlink by the time the crawl starts, and must not be followed."""
    root, secret = swap_tree
    os.rename(root / "d", root / "d.real")
    os.symlink(secret, root / "d")
    classifier = build_classifier(Settings())
    engine = open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")
    seen: list[FileResult] = []
    run_scan([str(root / "d")], classifier, EngineStore(engine), PathFilter([]),
             ScanOptions(jobs=1, use_cache=False, trusted_roots=(str(root),)), seen.append)
    assert not [r for r in seen if r.sha256 == hashlib.sha256(SECRET).hexdigest()]
    assert not [r for r in seen if "canary" in r.path]
    assert [r.outcome for r in seen] == [Outcome.SKIPPED], seen
    # A real directory below the trusted root is walked as before.
    seen.clear()
    run_scan([str(root / "d.real")], classifier, EngineStore(engine), PathFilter([]),
             ScanOptions(jobs=1, use_cache=False, trusted_roots=(str(root),)), seen.append)
    assert len(seen) == 20 and all(r.outcome is Outcome.OK for r in seen)
