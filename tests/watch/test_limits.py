"""The kernel's limits, reached for real: queue overflow, the watch limit, idle cost, bursts.

- Overflow: the watcher runs in a child process that is SIGSTOPped while more files are
  written than ``max_queued_events`` can hold, then continued: the kernel really drops
  events and queues IN_Q_OVERFLOW. No sysctl is changed.
- Watch limit: the child runs in its own user namespace (``unshare --user``), where
  ``/proc/sys/user/max_inotify_watches`` is that namespace's own limit; setting it to a
  few watches there gives a real ENOSPC without touching the machine-wide
  ``fs.inotify.max_user_watches`` that every other process on the machine shares.
- Numbers (events/s, loss, idle CPU, start time) are printed: run with ``-s`` to see them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dlpd.watch.events import EventKind
from dlpd.watch.inotify import read_sysctl

from .conftest import COUNTS_DIRS, StartWatch, make_tree, watchdog_gap

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")

K = EventKind
CHILD = Path(__file__).with_name("watch_child.py")
REPO = Path(__file__).resolve().parents[2]


class Child:
    """``watch_child.py`` as a subprocess; its stdout lines parsed as they come."""

    def __init__(self, argv: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        self.lines: list[dict[str, Any]] = []
        self._err: list[str] = []
        self._closed = False
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._read, name="child-stdout"),
                         threading.Thread(target=self._read_err, name="child-stderr")]
        for t in self._readers:
            t.start()

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(json.loads(line))
                self._cond.notify_all()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._err.append(line)

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float,
                 what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hit = next((ln for ln in self.lines if pred(ln)), None)
                if hit is not None:
                    return hit
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._cond.wait(min(left, 0.2))
        self.close()
        pytest.fail(f"child: no {what} within {timeout}s; last lines {self.lines[-10:]}\n"
                    f"stderr: {self.stderr[-2000:]}")

    def close(self) -> None:
        """Close stdin (the child stops its watcher and exits); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for t in self._readers:
            t.join()


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A directory on tmpfs (/dev/shm) when there is one: the burst tests measure the
    watcher, not the virtual disk, whose metadata writes stall for seconds at times."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="dlpd-watch-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def child() -> Iterator[Callable[..., Child]]:
    started: list[Child] = []

    def spawn(backend: str, root: Path, watch_limit: int | None = None) -> Child:
        argv = [sys.executable, str(CHILD), backend, str(root)]
        if watch_limit is not None:
            argv = ["unshare", "--user", "--map-root-user", "sh", "-c",
                    f'echo {watch_limit} > /proc/sys/user/max_inotify_watches && exec "$0" "$@"',
                    *argv]
        c = Child(argv)
        started.append(c)
        c.wait_for(lambda ln: "ready" in ln, 30, "ready")
        return c

    yield spawn
    for c in started:
        c.close()


def test_overflow_is_reported_and_watches_rebuilt(backend: str, fast_tmp: Path,
                                                  child: Callable[..., Child]) -> None:
    root = fast_tmp / "root"
    (root / "flood").mkdir(parents=True)
    c = child(backend, root)
    if backend == "fanotify":
        # The kernel merges a file's create and close-write while they wait: one event.
        files = (read_sysctl("/proc/sys/fs/fanotify/max_queued_events") or 16384) + 2000
    else:
        queued = read_sysctl("/proc/sys/fs/inotify/max_queued_events") or 16384
        files = queued // 2 + 2000  # each file: IN_CREATE + IN_CLOSE_WRITE
    os.kill(c.proc.pid, signal.SIGSTOP)
    try:
        for i in range(files):
            with open(root / "flood" / f"f{i}", "wb"):
                pass
        (root / "late").mkdir()  # its IN_CREATE is among the events the kernel drops
    finally:
        os.kill(c.proc.pid, signal.SIGCONT)
    overflow = c.wait_for(lambda ln: ln.get("kind") == "overflow", 30, "overflow event")
    assert overflow["path"] in ("", str(root))
    (root / "late" / "after.txt").write_text("x")
    c.wait_for(lambda ln: ln.get("kind") == "closed_write"
               and ln["path"] == str(root / "late" / "after.txt"), 10,
               "closed_write in a directory created while events were lost")
    c.close()


@watchdog_gap("watchdog skips a directory it cannot watch without a word (no UNWATCHED)")
def test_watch_limit_reported_once(backend: str, tmp_path: Path,
                                   child: Callable[..., Child]) -> None:
    if backend == "fanotify":
        pytest.skip("fanotify has no watch per directory, hence no watch limit")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "true"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no user namespaces here: {probe.stderr.decode()[:200]}")
    root = tmp_path / "root"
    make_tree(root, fanout=5, depth=2)  # 31 directories, 8 watches allowed
    c = child(backend, root, watch_limit=8)
    c.wait_for(lambda ln: ln.get("kind") == "unwatched" and ln["path"] == str(root), 2,
               "UNWATCHED for the root whose walk hit the limit")
    (root / "new").mkdir()
    c.wait_for(lambda ln: ln.get("kind") == "unwatched" and ln["path"] == str(root / "new"),
               5, "UNWATCHED for a new directory beyond the limit")
    c.close()
    said = [json.loads(ln) for ln in c.stderr.splitlines() if "watch limit" in ln]
    assert len(said) == 1, c.stderr
    assert said[0]["max_user_watches"] == read_sysctl("/proc/sys/fs/inotify/max_user_watches")
    assert said[0]["fix"].startswith("sysctl fs.inotify.max_user_watches=")


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once for both backends: big/a holds 6,000 directories, big/ 9,003."""
    big = tmp_path_factory.mktemp("big")
    for i in range(60):
        make_tree(big / "a" / f"p{i}", fanout=99, depth=1)  # 60 * (1 + 99) = 6,000
    for i in range(30):
        make_tree(big / "b" / f"p{i}", fanout=99, depth=1)  # 30 * 100 = 3,000
    return big


@pytest.mark.parametrize("backend", [
    "inotify", "watchdog",
    pytest.param("fanotify", marks=pytest.mark.xfail(
        strict=False, reason="a file-system mark sees every change on the file system, "
        "not only below the roots: idle trees on a busy file system still cost the "
        "reader (measured on this shared machine: 0.2% to 2.3% of a core)")),
])
def test_idle_cpu_over_6000_directories(backend: str, watch: StartWatch,
                                        big_tree: Path) -> None:
    root = big_tree / "a"
    t0 = time.perf_counter()
    watcher, events = watch([root])
    started = time.perf_counter() - t0
    assert watcher.watched_dirs() == (6001 if backend in COUNTS_DIRS else 1)
    time.sleep(0.5)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time.sleep(5.0)
    cpu = time.process_time() - cpu0
    share = cpu / (time.perf_counter() - wall0)
    print(f"\n[{backend}] start() over 6001 dirs: {started:.3f} s; "
          f"idle CPU {share:.2%} of a core over 5 s; events while idle: {len(events.events)}")
    assert share < 0.02


@pytest.mark.parametrize("backend", [
    "inotify",
    pytest.param("watchdog", marks=pytest.mark.xfail(
        strict=False, reason="watchdog re-walks after an overflow with IN_OPEN on; its "
        "own directory opens overflow the queue again: a core spins (build_watcher "
        "refuses it)")),
    pytest.param("fanotify", marks=pytest.mark.xfail(
        strict=False, reason="a file-system mark with FAN_OPEN sees every open on the "
        "file system: on a shared machine the reader is never idle (measured: ~2,500 "
        "opens/s by other processes, 13% of a core, ~16 us per event dropped)")),
])
def test_access_events_over_9000_directories_stay_idle(backend: str, watch: StartWatch,
                                                      big_tree: Path) -> None:
    """Listing a directory opens it: with IN_OPEN in the mask, a walk over N directories
    queues 2N events. 9,000 directories overflow the default 16,384-event queue."""
    root = big_tree
    watcher, events = watch([root], access_events=True)
    assert watcher.watched_dirs() == (9003 if backend in COUNTS_DIRS else 1)
    time.sleep(0.5)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time.sleep(3.0)
    share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    overflows = sum(e.kind is K.OVERFLOW for e in events.events)
    print(f"\n[{backend}] access events over 9003 dirs: idle CPU {share:.2%}, "
          f"overflows {overflows}, watched {watcher.watched_dirs()}")
    assert overflows == 0
    assert share < 0.02


def test_burst_loss_is_never_silent(backend: str, watch: StartWatch, fast_tmp: Path) -> None:
    """20,000 files written as fast as a separate process can into 10 directories. Loss
    is allowed (the kernel queue is finite); loss without an OVERFLOW is not."""
    root = fast_tmp / "root"
    dirs = [root / f"d{i}" for i in range(10)]
    for d in dirs:
        d.mkdir(parents=True)
    _, events = watch([root])
    n = 20_000
    writer = ("import sys\nds = sys.argv[1:]\n"
              f"for i in range({n}):\n"
              "    with open(f'{ds[i % 10]}/f{i}', 'wb') as fh:\n"
              "        fh.write(b'x')\n")
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", writer, *map(str, dirs)], check=True)
    wrote = time.monotonic() - t0
    deadline = time.monotonic() + 60
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(events.paths(K.CLOSED_WRITE))
        if count >= n:
            break
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > 2.0:
            break
        time.sleep(0.05)
    got = events.paths(K.CLOSED_WRITE)
    closes = [e.time for e in events.events if e.kind is K.CLOSED_WRITE]
    span = (max(closes) - t0) if closes else float("nan")
    overflows = [e for e in events.events if e.kind is K.OVERFLOW]
    lost = n - len(got)
    print(f"\n[{backend}] {n} files written in {wrote:.2f} s ({n / wrote:,.0f}/s); "
          f"{len(got)} CLOSED_WRITE received, {len(got) / span:,.0f}/s; "
          f"lost {lost} ({lost / n:.1%}); overflows reported: {len(overflows)}")
    assert lost == 0 or overflows, f"{lost} close events lost without an OVERFLOW"
