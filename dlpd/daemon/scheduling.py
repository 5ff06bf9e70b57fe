"""What to read next and the scan pool that reads it.

Events settle (``watch/settle.py``), the read gate holds back files being read or still
changing (``changing.py``), and what is due waits for a free slot of the pool. The pool
classifies batches of files and hands each finished batch to ``on_done`` (the pipeline's
inbox); the main thread ``collect``s it there. Main thread only, except ``on_done``; the
clock is an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

import structlog

from dlpd.classify.classifier import Classifier
from dlpd.daemon.changing import ReadGate, Verdict
from dlpd.daemon.lifecycle import remaining
from dlpd.dirfd import root_of
from dlpd.model import AccessKind, Actor, FileResult, Outcome, display_path
from dlpd.watch.settle import Pending, Settler

_log = structlog.get_logger("dlpd.daemon")

SCAN_BACKLOG = 64  # settled files handed to the pool ahead of results, per job
SCAN_BATCH = 16  # most files in one pool task

ScanFuture = Future[list[FileResult]]


def classify_all(classifier: Classifier, paths: list[str],
                 roots: Sequence[str]) -> list[FileResult]:
    """One pool task. Files are opened from their watched root down: never through a
    symlinked parent (reading.py)."""
    results = []
    for path in paths:
        root = root_of(path, roots)
        results.append(FileResult(path, Outcome.SKIPPED, reason="outside the watched roots")
                       if root is None
                       # What was read of a file that changed meanwhile is kept: the
                       # scheduler decides whether to use it or to read the file again.
                       else classifier.classify(path, root=root, accept_unstable=True))
    return results


class Scheduler:
    """The settle queue, the read gate, the files waiting for a slot, and the pool."""

    name = "dlpd-scan"

    def __init__(self, jobs: int, settle: float, max_delay: float,
                 on_done: Callable[[ScanFuture], None]) -> None:
        self._settler = Settler(settle, max_delay)
        self._gate = ReadGate(max_delay)
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="dlpd-scan")
        self._on_done = on_done
        # Futures of batches of files (one future per file costs more than a small scan).
        self._in_flight: dict[ScanFuture, tuple[list[Pending], float]] = {}
        self._in_flight_files = 0
        self._waiting: list[Pending] = []  # settled, waiting for a free scan slot

    def retime(self, settle: float, max_delay: float) -> None:
        self._settler.retime(settle, max_delay)
        self._gate.max_delay = max_delay

    # ---- what to read ------------------------------------------------------------------

    def add(self, path: str, kind: AccessKind, now: float, src_path: str | None = None,
            actor: Actor | None = None) -> None:
        """An event on ``path`` (by ``actor``, if known): read it once it settles."""
        self._settler.add(path, kind, now, src_path=src_path, actor=actor)

    def discard(self, path: str) -> None:
        """``path`` is gone: nothing to read, nothing known of it."""
        self._settler.discard(path)
        self._gate.forget(path)

    def discard_under(self, directory: str) -> None:
        self._settler.discard_under(directory)
        self._gate.forget_under(directory)

    def forget(self, path: str) -> None:
        """What was read of ``path`` counts for nothing (forgotten, or its write failed)."""
        self._gate.forget(path)

    def is_final(self, result: FileResult, now: float) -> bool:
        """Whether a read is written now. A file read while it changed is read again (a
        bounded number of times), then what was read is final; it is read once more when
        a read finds it settled."""
        verdict = self._gate.verdict(result.path, result.outcome is Outcome.UNSTABLE,
                                     result.size, now)
        if verdict is Verdict.READ_AGAIN:
            self._settler.add(result.path, AccessKind.MODIFIED, now)
        return verdict is Verdict.KEEP

    # ---- the pool ------------------------------------------------------------------------

    def dispatch(self, now: float, classifier: Classifier, roots: Sequence[str],
                 jobs: int) -> list[str]:
        """Hand what is due to the pool, as far as its backlog allows; returns the paths
        handed over (their reads start now)."""
        self._waiting.extend(self._gate.admit(self._settler.pop_due(now), now))
        room = jobs * SCAN_BACKLOG - self._in_flight_files
        if room <= 0 or not self._waiting:
            return []
        todo, self._waiting = self._waiting[:room], self._waiting[room:]
        # One file a future when files trickle in (latency); batches in a storm (throughput).
        size = max(1, min(SCAN_BATCH, len(todo) // (2 * jobs)))
        submitted: list[str] = []
        for start in range(0, len(todo), size):
            chunk = todo[start:start + size]
            paths = [p.path for p in chunk]
            self._gate.reading(paths)
            future = self._pool.submit(classify_all, classifier, paths, roots)
            self._in_flight[future] = (chunk, now)
            self._in_flight_files += len(chunk)
            submitted += paths
            future.add_done_callback(self._on_done)
        return submitted

    def collect(self, future: ScanFuture) -> list[tuple[Pending, FileResult]] | None:
        """A finished batch, each file with its result; None when the task itself failed
        (logged: the classifier isolates files, this is a last guard)."""
        pendings, _started = self._in_flight.pop(future)
        self._in_flight_files -= len(pendings)
        self._gate.read([p.path for p in pendings])
        try:
            results = future.result()
        except Exception as exc:
            _log.error("scan failed", paths=[display_path(p.path) for p in pendings],
                       error=f"{type(exc).__name__}: {exc}")
            return None
        return list(zip(pendings, results, strict=True))

    def is_scanning(self) -> bool:
        return bool(self._in_flight)

    def drop_waiting(self) -> None:
        """Forget what is settled but not handed over (at shutdown: the next start's crawl
        finds those files, their stat key no longer matching the store)."""
        self._waiting.clear()

    # ---- what is known of the queue ------------------------------------------------------

    def queue_depth(self) -> int:
        return (len(self._settler) + len(self._waiting) + len(self._gate)
                + self._in_flight_files)

    def in_flight_files(self) -> int:
        return self._in_flight_files

    def settling(self) -> int:
        return len(self._settler)

    def oldest_queued(self) -> float | None:
        """The clock time of the first event of the longest-waiting file."""
        firsts = [p.first for p in self._waiting] + [s for _p, s in self._in_flight.values()]
        others = [t for t in (self._settler.oldest(), self._gate.oldest()) if t is not None]
        return min(firsts + others, default=None)

    def oldest_scan(self) -> float | None:
        """When the longest-running pool task was handed over."""
        return min((started for _p, started in self._in_flight.values()), default=None)

    def next_due(self) -> float | None:
        """When a settling or held file is next due (None: none waits on the clock)."""
        dues = [t for t in (self._settler.next_due(), self._gate.next_due()) if t is not None]
        return min(dues, default=None)

    # ---- lifecycle (the pool's threads start with its first task) -----------------------

    def start(self) -> None:
        pass

    def stop(self, deadline: float) -> bool:
        """Hand nothing more over, wait for the tasks in flight until ``deadline``, and
        shut the pool; True when no task was left running (one stuck in a native call
        cannot be interrupted: the owner decides what to do with it)."""
        self._waiting.clear()
        pending = wait(list(self._in_flight), timeout=remaining(deadline)).not_done
        self._pool.shutdown(wait=not pending, cancel_futures=True)
        return not pending
