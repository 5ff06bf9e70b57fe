"""A user of the watched tree turning the watch against the host (real inotify, real races).

- A directory swapped for a symlink to a root-only directory, in a loop, while the
  backend walks (at start, for new directories, after an overflow): no watch may ever land
  outside the roots. Checked from the outside: files written afterwards in the "secret"
  directory must raise no event at all.
- Paths longer than PATH_MAX (20 components of 250 characters) are watched like any other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlpd.watch.events import EventKind
from dlpd.watch.inotify import InotifyWatcher

from .conftest import COUNTS_DIRS, Collector, StartWatch, watchdog_gap

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")

K = EventKind
SHAPE = ("b", "b/c", "b/c/d")  # below the swapped directory, and mirrored in the secret
NEW = 150  # directories created below the swapped directory while it flips
STARTS = 20  # watchers started (each walks the tree) while it flips


_SWAPPER = """
import os, sys, time
victim, target, stop = sys.argv[1:]
aside = victim + ".real"
swaps = 0
while not os.path.exists(stop):
    os.rename(victim, aside)
    os.symlink(target, victim)
    time.sleep(0.0005)
    os.unlink(victim)
    os.rename(aside, victim)
    swaps += 1
    time.sleep(0.0002)
print(swaps)
"""


class Swapper:
    """The attacker, in its own process: renames ``victim`` away, puts a symlink to
    ``target`` in its place for half a millisecond and puts it back, in a loop."""

    def __init__(self, victim: Path, target: Path) -> None:
        self._stop = victim.with_name("stop-swapping")
        self._argv = [sys.executable, "-c", _SWAPPER, str(victim), str(target),
                      str(self._stop)]
        self.swaps = 0

    def __enter__(self) -> Swapper:
        self._proc = subprocess.Popen(self._argv, stdout=subprocess.PIPE, text=True)
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.write_text("")
        out, _ = self._proc.communicate(timeout=30)
        self._stop.unlink()
        self.swaps = int(out)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A root-only directory outside the roots, shaped like the watched one."""
    secret = tmp_path / "etc"
    for rel in SHAPE:
        (secret / rel).mkdir(parents=True)
    for i in range(NEW):
        (secret / "b" / f"n{i}").mkdir()
    (secret / "shadow").write_text("root:$6$not-for-users\n")
    secret.chmod(0o700)
    return secret


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for rel in SHAPE:
        (root / "a" / rel).mkdir(parents=True)
    return root


def _assert_blind_to(secret: Path, root: Path, events: Collector) -> None:
    """Write in every directory of ``secret``; a marker in ``root`` proves the reader
    caught up. Any event naming a ``leak-`` file came from a watch outside the roots."""
    for n, (dirpath, _, _) in enumerate(os.walk(secret)):
        Path(dirpath, f"leak-{n}.txt").write_text("x")
    marker = root / "marker.txt"
    marker.write_text("x")
    events.wait_kind(K.CLOSED_WRITE, marker)
    events.settle()
    leaked = [e for e in events.events if "leak-" in e.path]
    assert not leaked, f"a watch outside the roots reported: {leaked[:5]}"


@watchdog_gap("watchdog walks and watches by path: a symlinked parent moves its watch "
              "outside the root (the inotify backend is the hardened one); not run: "
              "20 watchdog observers racing the swap take minutes", run=False)
def test_symlinked_parent_swap_never_watches_outside(
        watch: StartWatch, victim: Path, secret: Path) -> None:
    """Start walks and new-directory walks, each racing a swap of ``root/a`` for a
    symlink to the secret directory. (The rebuild after an overflow is a start walk.)"""
    root = victim
    watchers = []
    b = os.open(root / "a" / "b", os.O_RDONLY | os.O_DIRECTORY)  # the real b, whatever
    try:
        with Swapper(root / "a", secret) as swapper:
            for _ in range(STARTS):  # the start walk (an overflow's rebuild is the same)
                watchers.append(watch([root]))
            for i in range(NEW):  # each new directory is walked from its path
                os.mkdir(f"n{i}", dir_fd=b)
                time.sleep(0.001)
            time.sleep(0.2)
    finally:
        os.close(b)
    assert swapper.swaps > 10, f"the attacker only swapped {swapper.swaps} times"
    for _, collector in watchers:
        _assert_blind_to(secret, root, collector)


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted at ``root/m`` (skipped where the test may not mount)."""
    m = tmp_path / "root" / "m"
    (m / "sub").mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "dlpd-test", str(m)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        (m / "inside").mkdir()
        yield m
    finally:
        subprocess.run(["umount", str(m)], check=True)


@watchdog_gap("watchdog follows its walk into other file systems")
def test_mount_point_is_not_entered(watch: StartWatch, mounted: Path) -> None:
    """A walk never leaves its root's device (no setting allows it yet)."""
    root = mounted.parent
    watcher, events = watch([root])
    if isinstance(watcher, InotifyWatcher):
        assert watcher.watched_dirs() == 1
    (mounted / "inside" / "leak-mounted.txt").write_text("x")
    (mounted / "leak-top.txt").write_text("x")
    (root / "marker.txt").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "marker.txt")
    events.settle()
    assert not [e for e in events.events if "leak-" in e.path]


def _deep_chain(top: Path, depth: int, width: int) -> tuple[list[str], int]:
    """Directories ``depth`` deep with names ``width`` long, made through dir fds (the
    whole path is longer than PATH_MAX). Returns (names, fd of the deepest)."""
    names = [f"{i:02d}" + "x" * (width - 2) for i in range(depth)]
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for name in names:
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    return names, fd


def _write_at(fd: int, name: str) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, b"x")
    os.close(out)


@pytest.fixture
def deep_cleanup(tmp_path: Path) -> Iterator[Path]:
    """pytest's own cleanup cannot remove a tree past PATH_MAX: remove it by fds."""
    yield tmp_path
    _rmtree_fd(os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY))


def _rmtree_fd(fd: int) -> None:
    try:
        for entry in list(os.scandir(fd)):
            if entry.is_dir(follow_symlinks=False):
                _rmtree_fd(os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd))
                os.rmdir(entry.name, dir_fd=fd)
            else:
                os.unlink(entry.name, dir_fd=fd)
    finally:
        os.close(fd)


@watchdog_gap("watchdog walks and watches by path: past PATH_MAX it gets ENAMETOOLONG")
def test_paths_longer_than_path_max_are_watched(backend: str, watch: StartWatch,
                                                deep_cleanup: Path) -> None:
    root = deep_cleanup / "root"
    root.mkdir()
    names, fd = _deep_chain(root, 20, 250)
    try:
        watcher, events = watch([root])
        assert watcher.watched_dirs() == (21 if backend in COUNTS_DIRS else 1)
        _write_at(fd, "bottom.txt")
        bottom = "/".join([str(root), *names, "bottom.txt"])
        assert len(os.fsencode(bottom)) > os.pathconf("/", "PC_PATH_MAX")
        events.wait_kind(K.CLOSED_WRITE, bottom)
    finally:
        os.close(fd)


@watchdog_gap("watchdog walks and watches by path: past PATH_MAX it gets ENAMETOOLONG")
def test_deep_tree_created_while_watched(backend: str, watch: StartWatch,
                                        deep_cleanup: Path) -> None:
    """Each new directory is watched from its root, one component at a time."""
    root = deep_cleanup / "root"
    root.mkdir()
    watcher, events = watch([root])
    names, fd = _deep_chain(root, 20, 250)
    try:
        deepest = "/".join([str(root), *names])
        if backend in COUNTS_DIRS:
            events.wait_for(lambda _e: watcher.watched_dirs() == 21, what="21 watches")
        _write_at(fd, "late.txt")
        events.wait_kind(K.CLOSED_WRITE, deepest + "/late.txt")
    finally:
        os.close(fd)
