"""The daemon's pipeline: events -> settle -> scan -> decide -> store.

Owned and driven by the main thread (``step``); the scan pool and the reconciliation
thread only put their results on the inbox. Everything one ``step`` takes from the inbox
is written in one transaction.

What the pipeline keeps in memory that mirrors the store (the alert index, ``labelled``,
the access rows a write records) changes only once that transaction committed. A failed
write changes nothing: every file of the batch is scanned and evaluated again, and every
forget retried, after a back-off that grows while the store keeps failing.

Paths are real paths (``os.fsdecode`` of the name's bytes): they key every index and are
what the file system is asked about; ``display_path`` is only for log lines.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from dlpd.classify.classifier import Classifier
from dlpd.daemon.access_log import AccessAggregator
from dlpd.daemon.alerting import Alerter
from dlpd.daemon.changing import ReadGate, Verdict
from dlpd.daemon.reconcile import Reconciler
from dlpd.daemon.routing import Crawl, Forget, Opened, ReconcileAll, Settle, Unwatched, route
from dlpd.daemon.runtime import Runtime
from dlpd.dirfd import lexists_below, root_of
from dlpd.errors import DlpdError
from dlpd.model import FileResult, Outcome, display_path
from dlpd.scan.runner import ScanOptions, ScanSummary, run_scan
from dlpd.store import files as files_repo
from dlpd.store.db import Connection, Engine, transaction
from dlpd.watch.events import FsEvent
from dlpd.watch.settle import Pending, Settler

_log = structlog.get_logger("dlpd.daemon")

_TICK = 0.5  # longest wait of one step: the loop also keeps timers, status and pings
_MAX_BATCH = 2000  # inbox items handled per transaction
_SCAN_BACKLOG = 64  # settled files handed to the pool ahead of results, per job
_SCAN_BATCH = 16  # most files in one pool task
# inotify cannot tell our own reads from others': an "opened" event within this many
# seconds of a read of ours (before or after: the event and the read's end race) is ours.
_OWN_READ_WINDOW = 2.0
# Waits before files of a failed store write are scanned again: doubling while the store
# keeps failing (a full disk must not keep a core busy), reset by a write that succeeds.
_RETRY_FIRST = 1.0
_RETRY_MAX = 30.0


@dataclass(slots=True)
class _Scanned:
    result: FileResult
    pending: Pending | None  # None: from a crawl (already stored by the crawl)


@dataclass(frozen=True, slots=True)
class _Vanished:
    """A full crawl of ``roots`` finished: alerts on files it no longer found resolve."""

    roots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _OwnRead:
    """A crawl read ``path`` (only sent when access events are recorded)."""

    path: str
    time: float


@dataclass(slots=True)
class _Batch:
    """What one step writes in one transaction."""

    results: list[_Scanned] = field(default_factory=list)
    gone: list[tuple[str, str, bool]] = field(default_factory=list)  # path, why, is_dir


@dataclass(slots=True)
class _Effects:
    """What a transaction changes outside the store, applied once it committed."""

    labelled: dict[str, tuple[str, ...] | None] = field(default_factory=dict)  # None: drop
    access: list[tuple[str, str, tuple[str, ...], str | None]] = field(
        default_factory=list)  # path, kind, labels, src_path


@dataclass(slots=True)
class _Retry:
    """What a failed store write left to do again once ``due``."""

    due: float = 0.0
    wait: float = 0.0  # the current back-off; 0 while the store works
    files: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # kind, src
    gone: list[tuple[str, str, bool]] = field(default_factory=list)


def _classify_all(classifier: Classifier, paths: list[str],
                  roots: Sequence[str]) -> list[FileResult]:
    # Opened from their watched root down: never through a symlinked parent (reading.py).
    results = []
    for path in paths:
        root = root_of(path, roots)
        results.append(FileResult(path, Outcome.SKIPPED, reason="outside the watched roots")
                       if root is None
                       # What was read of a file that changed meanwhile is kept: the
                       # pipeline decides whether to use it or to read the file again.
                       else classifier.classify(path, root=root, accept_unstable=True))
    return results


class Pipeline:
    def __init__(self, runtime: Runtime, engine: Engine,
                 after_write: Callable[[], None]) -> None:
        self.rt = runtime  # swapped whole by a reload
        self._engine = engine
        self.after_write = after_write
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        watch = runtime.settings.watch
        self.settler = Settler(watch.settle, watch.max_delay)
        self.alerter = Alerter(runtime.policy)
        self.access = AccessAggregator(runtime.settings.access.aggregate_window)
        self.reconciler = Reconciler(self.crawl)
        self.pool = ThreadPoolExecutor(max_workers=runtime.jobs, thread_name_prefix="dlpd-scan")
        # Futures of batches of files (one future per file costs more than a small scan).
        self.in_flight: dict[Future[list[FileResult]], tuple[list[Pending], float]] = {}
        self.in_flight_files = 0
        self.waiting: list[Pending] = []  # settled, waiting for a free scan slot
        self.labelled: dict[str, tuple[str, ...]] = {}
        self.gate = ReadGate(watch.max_delay)
        self._retry = _Retry()
        # Our reads and others' opens, matched once the window has passed (access_events).
        self._reads: list[tuple[str, float]] = []
        self._opens: list[tuple[FsEvent, float]] = []
        self.unwatched: set[str] = set()
        self.last_progress = time.monotonic()
        self.events = 0
        self.events_by_kind: dict[str, int] = {}
        self.overflows = 0
        self.scanned = 0

    def configure(self, runtime: Runtime) -> None:
        """Take a reloaded configuration: rules, policy, timings."""
        self.rt = runtime
        self.alerter.policy = runtime.policy
        self.settler.retime(runtime.settings.watch.settle, runtime.settings.watch.max_delay)
        self.gate.max_delay = runtime.settings.watch.max_delay
        self.access.window = runtime.settings.access.aggregate_window

    def load(self) -> None:
        """What the store knows that the pipeline keeps in memory: active alerts, labels."""
        with transaction(self._engine) as conn:
            self.alerter.load(conn)
            self.labelled = files_repo.labelled_paths(conn)

    def oldest_queued(self) -> float | None:
        """monotonic() of the first event of the longest-waiting file."""
        firsts = [p.first for p in self.waiting] + [s for _p, s in self.in_flight.values()]
        others = [t for t in (self.settler.oldest(), self.gate.oldest()) if t is not None]
        return min(firsts + others, default=None)

    def step(self, timeout: float) -> None:
        """Wait up to ``timeout`` for work, take what has arrived (up to a batch), write it
        in one transaction, and hand settled files to the scan pool."""
        items = []
        try:
            items.append(self.inbox.get(timeout=timeout) if timeout > 0
                         else self.inbox.get_nowait())
            while len(items) < _MAX_BATCH:
                items.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        batch = _Batch()
        for item in items:
            self._handle(item, batch)
        self._write(batch)
        self._dispatch_scans()

    def _handle(self, item: object, batch: _Batch) -> None:
        if isinstance(item, FsEvent):
            self.events += 1
            self.events_by_kind[item.kind.value] = self.events_by_kind.get(item.kind.value, 0) + 1
            self._on_event(item, batch)
        elif isinstance(item, Future):
            pendings, _started = self.in_flight.pop(item)
            self.in_flight_files -= len(pendings)
            self.gate.read([p.path for p in pendings])
            try:
                results = item.result()
            except Exception as exc:  # the classifier isolates files; this is a last guard
                _log.error("scan failed", paths=[display_path(p.path) for p in pendings],
                           error=f"{type(exc).__name__}: {exc}")
                return
            self.scanned += len(results)
            self._note_reads([p.path for p in pendings])
            batch.results += [_Scanned(r, p) for p, r in zip(pendings, results, strict=True)]
        elif isinstance(item, _Scanned):
            batch.results.append(item)
        elif isinstance(item, _OwnRead):
            self._reads.append((item.path, item.time))
        elif isinstance(item, _Vanished):
            for path in self.alerter.paths():
                root = root_of(path, item.roots)
                if root is not None and not self._exists(root, path):
                    batch.gone.append((path, "no longer present (reconciliation)", False))

    def _on_event(self, ev: FsEvent, batch: _Batch) -> None:
        now = time.monotonic()
        for action in route(ev, self.rt.pathfilter.is_excluded, self.rt.pathfilter.is_pruned):
            match action:
                case Settle(path, kind, src):
                    self.settler.add(path, kind, now, src_path=src)
                case Forget(path, why, is_dir):
                    if is_dir:
                        self.settler.discard_under(path)
                        self.gate.forget_under(path)
                    else:
                        self.settler.discard(path)
                        self.gate.forget(path)
                    batch.gone.append((path, why, is_dir))
                case Crawl(directory, reason):
                    self.reconciler.request_subtree(directory, reason)
                case ReconcileAll(reason, root):
                    self.overflows += 1
                    _log.warning("events were lost (kernel queue overflow); reconciling",
                                 root=root or "all", overflows=self.overflows)
                    self.reconciler.request_full(reason)
                case Unwatched(path):
                    self.unwatched.add(path)
                case Opened(event):
                    self._on_opened(event, now)

    def _on_opened(self, ev: FsEvent, now: float) -> None:
        if ev.path in self.labelled:
            self._opens.append((ev, now))

    def _dispatch_scans(self) -> None:
        now = time.monotonic()
        self._requeue_failed(now)
        self.waiting.extend(self.gate.admit(self.settler.pop_due(now), now))
        room = self.rt.jobs * _SCAN_BACKLOG - self.in_flight_files
        if room <= 0 or not self.waiting:
            return
        todo, self.waiting = self.waiting[:room], self.waiting[room:]
        classifier = self.rt.classifier
        # One file a future when files trickle in (latency); batches in a storm (throughput).
        size = max(1, min(_SCAN_BATCH, len(todo) // (2 * self.rt.jobs)))
        for start in range(0, len(todo), size):
            chunk = todo[start:start + size]
            paths = [p.path for p in chunk]
            self.gate.reading(paths)
            future = self.pool.submit(_classify_all, classifier, paths, self.rt.roots)
            self.in_flight[future] = (chunk, now)
            self.in_flight_files += len(chunk)
            self._note_reads(paths)
            future.add_done_callback(self._scan_done)

    def _note_reads(self, paths: list[str]) -> None:
        # Only what could explain an "opened" event is worth remembering.
        if self.rt.settings.watch.access_events:
            now = time.monotonic()
            self._reads.extend((p, now) for p in paths)

    def _scan_done(self, future: Future[list[FileResult]]) -> None:
        # Pool thread: hand the result to the main loop and nothing else.
        self.inbox.put(future)

    def _write(self, batch: _Batch) -> None:
        now = time.monotonic()
        if self._retry.gone and self._retry.due <= now:
            # Forgets a failed write left: still true only if nothing is there again (a
            # new file at the path has events of its own).
            batch.gone[:0] = [g for g in self._retry.gone
                              if not self._exists(root_of(g[0], self.rt.roots), g[0])]
            self._retry.gone = []
        batch.results = [s for s in batch.results if self._is_final(s, now)]
        if not batch.results and not batch.gone:
            return
        wall = time.time()
        effects = _Effects()
        try:
            with transaction(self._engine) as conn:
                for path, why, is_dir in batch.gone:
                    self._forget(conn, path, why, is_dir, wall, effects)
                fresh = [s.result for s in batch.results if s.pending is not None]
                if fresh:
                    files_repo.save_results(conn, fresh,
                                            rules_version=self.rt.classifier.version,
                                            scan_started_ns=time.time_ns() - 1, now=wall)
                for scanned in batch.results:
                    self._decide(conn, scanned, wall, effects)
        except DlpdError as exc:
            self.alerter.rollback()
            self._write_failed(batch, exc)
            return
        self.alerter.commit()
        for path, labels in effects.labelled.items():
            if labels:
                self.labelled[path] = labels
            else:
                self.labelled.pop(path, None)
        for path, kind, labels, src in effects.access:
            self.access.record(path, kind, labels, wall, src_path=src)
        self._retry.wait = 0.0
        self.after_write()
        self.last_progress = time.monotonic()

    def _is_final(self, scanned: _Scanned, now: float) -> bool:
        """Whether a result is written now. A file read while it changed is read again (a
        bounded number of times), then what was read is final; it is read once more when
        a scan finds it settled."""
        result, pending = scanned.result, scanned.pending
        if pending is None:
            return True  # a crawl's: stored by the crawl, evaluated as it is
        if result.outcome is Outcome.ERROR:
            _log.warning("file not read", path=display_path(result.path),
                         reason=result.reason)
        verdict = self.gate.verdict(result.path, result.outcome is Outcome.UNSTABLE,
                                    result.size, now)
        if verdict is Verdict.READ_AGAIN:
            self.settler.add(result.path, "modified", now)
        return verdict is Verdict.KEEP

    def _write_failed(self, batch: _Batch, exc: DlpdError) -> None:
        """Nothing of ``batch`` happened: scan its files again (their results may be
        stale by then) and retry its forgets, after a back-off."""
        retry = self._retry
        retry.wait = min(_RETRY_MAX, max(_RETRY_FIRST, 2 * retry.wait))
        retry.due = time.monotonic() + retry.wait
        for scanned in batch.results:
            path, pending = scanned.result.path, scanned.pending
            retry.files.setdefault(path, (pending.kind, pending.src_path) if pending
                                   else ("modified", None))
            self.gate.forget(path)
        retry.gone += batch.gone
        _log.error("store write failed; the batch will be evaluated again", error=str(exc),
                   files=len(batch.results), forgets=len(batch.gone), retry_in=retry.wait)
        try:
            self.load()  # the store is the authority: take its view again if it answers
        except DlpdError as reload_exc:
            _log.warning("alert index not reloaded; keeping the committed one",
                         error=str(reload_exc))

    def _requeue_failed(self, now: float) -> None:
        retry = self._retry
        if not retry.files or retry.due > now:
            return
        files, retry.files = retry.files, {}
        for path, (kind, src) in files.items():
            self.settler.add(path, kind, now, src_path=src)

    def _decide(self, conn: Connection, scanned: _Scanned, wall: float,
                effects: _Effects) -> None:
        result, pending = scanned.result, scanned.pending
        path = result.path
        if result.labels:
            effects.labelled[path] = result.labels
        elif not result.cached:
            effects.labelled[path] = None
        if not result.labels and not self.alerter.has_alerts(path):
            return
        moved_from = pending.src_path if pending and pending.src_path else None
        self.alerter.evaluate(conn, result, wall, moved_from=moved_from)
        if pending is not None and result.labels:
            # One row for what happened since the last scan.
            kind = pending.kind
            effects.access.append((path, kind, result.labels,
                                   moved_from if kind == "moved" else None))

    def _labels(self, path: str, effects: _Effects) -> tuple[str, ...] | None:
        """``path``'s labels as this transaction leaves them."""
        if path in effects.labelled:
            return effects.labelled[path]
        return self.labelled.get(path)

    def _forget(self, conn: Connection, path: str, why: str, is_dir: bool, wall: float,
                effects: _Effects) -> None:
        kind = "deleted" if why == "deleted" else "moved"
        gone = files_repo.paths_under(conn, path) if is_dir else [path]
        files_repo.delete_paths(conn, gone)
        if is_dir:
            self.alerter.gone_under(conn, path, why, wall)
        else:
            self.alerter.gone(conn, path, why, wall)
        for p in gone:
            self.gate.forget(p)
            labels = self._labels(p, effects)
            effects.labelled[p] = None
            if labels:
                effects.access.append((p, kind, labels, None))

    def _exists(self, root: str | None, path: str) -> bool:
        """Whether ``path`` is still there, asked through its root's directories (a
        parent swapped for a symlink does not keep a deleted file's alert alive)."""
        if root is None:
            return False
        return lexists_below(root, path, cross_devices=self.rt.settings.scan.cross_devices)

    def crawl(self, dirs: Sequence[str] | None, cancel: threading.Event) -> ScanSummary:
        """Runs on the reconciliation thread. ``dirs`` (a subtree crawl) are names below
        the watched roots, reached from them without following a symlink: by now a new
        directory's name may be a symlink to anywhere."""
        rt = self.rt
        # The configured roots are the administrator's: checked by path.
        roots = [r for r in rt.roots if os.path.isdir(r)] if dirs is None else list(dirs)

        track_reads = rt.settings.watch.access_events

        def on_result(result: FileResult) -> None:
            self.last_progress = time.monotonic()
            if track_reads and not result.cached:
                self.inbox.put(_OwnRead(result.path, self.last_progress))
            if result.outcome is Outcome.ERROR and not result.cached:
                _log.warning("file not read", path=display_path(result.path),
                             reason=result.reason)
            # has_alerts runs on this thread while the main thread may commit: a stale
            # answer costs one extra item on the inbox or waits for the next crawl.
            if result.labels or self.alerter.has_alerts(result.path):
                self.inbox.put(_Scanned(result, None))

        summary = run_scan(roots, rt.classifier, self._engine, rt.pathfilter,
                           ScanOptions(jobs=rt.jobs, cancel=cancel,
                                       cross_devices=rt.settings.scan.cross_devices,
                                       trusted_roots=tuple(rt.roots)), on_result)
        if dirs is None and not summary.cancelled:
            # Alerts on files the crawl no longer finds (deleted while unwatched).
            self.inbox.put(_Vanished(tuple(roots)))
        return summary

    def flush_access(self) -> None:
        try:
            self.access.flush(self._engine, time.time())
        except DlpdError as exc:
            _log.warning("access log not written; will retry", error=str(exc))

    def settle_opens(self, now: float) -> None:
        """Record the "opened" events whose window has passed and that no read of ours
        explains (called every second)."""
        if not self._opens:
            self._reads.clear()
            return
        ours: dict[str, list[float]] = {}
        for path, t in self._reads:
            ours.setdefault(path, []).append(t)
        keep: list[tuple[FsEvent, float]] = []
        wall_offset = time.time() - now
        for ev, t in self._opens:
            if now - t <= _OWN_READ_WINDOW:
                keep.append((ev, t))
                continue
            if any(abs(t - r) <= _OWN_READ_WINDOW for r in ours.get(ev.path, ())):
                continue
            labels = self.labelled.get(ev.path)
            if labels:
                self.access.record(ev.path, "opened", labels, t + wall_offset,
                                   pid=ev.pid, uid=ev.uid, process=ev.process)
        self._opens = keep
        horizon = now - 3 * _OWN_READ_WINDOW
        self._reads = [(p, t) for p, t in self._reads if t >= horizon]

    def queue_depth(self) -> int:
        return len(self.settler) + len(self.waiting) + len(self.gate) + self.in_flight_files

    def drain_inbox(self) -> None:
        batch = _Batch()
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Scanned):
                batch.results.append(item)
        self._write(batch)

    def sleep_time(self) -> float:
        due = self.settler.next_due()
        if self._retry.files or self._retry.gone:
            due = self._retry.due if due is None else min(due, self._retry.due)
        held = self.gate.next_due()
        if held is not None:
            due = held if due is None else min(due, held)
        if due is None:
            return _TICK
        return min(_TICK, max(0.0, due - time.monotonic()))
