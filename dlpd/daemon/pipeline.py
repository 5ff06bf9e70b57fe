"""The daemon's pipeline: events -> settle -> scan -> decide -> store.

Owned and driven by the main thread (``step``); the scan pool and the reconciliation
thread only put their results on the inbox. Everything one ``step`` takes from the inbox
is written in one transaction.
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
from dlpd.daemon.reconcile import Reconciler
from dlpd.daemon.routing import Crawl, Forget, Opened, ReconcileAll, Settle, Unwatched, route
from dlpd.daemon.runtime import Runtime
from dlpd.errors import DlpdError
from dlpd.model import FileResult, Outcome, display_path
from dlpd.policy.decide import is_under
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


def _classify_all(classifier: Classifier, paths: list[str]) -> list[FileResult]:
    return [classifier.classify(p) for p in paths]


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
        self.access.window = runtime.settings.access.aggregate_window

    def load(self) -> None:
        """What the store knows that the pipeline keeps in memory: active alerts, labels."""
        with transaction(self._engine) as conn:
            self.alerter.load(conn)
            self.labelled = files_repo.labelled_paths(conn)

    def oldest_queued(self) -> float | None:
        """monotonic() of the first event of the longest-waiting file."""
        firsts = [p.first for p in self.waiting] + [s for _p, s in self.in_flight.values()]
        settling = self.settler.oldest()
        return min(firsts + ([settling] if settling is not None else []), default=None)

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
                if any(is_under(path, r) for r in item.roots) and not os.path.lexists(path):
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
                    else:
                        self.settler.discard(path)
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
        if display_path(ev.path) in self.labelled:
            self._opens.append((ev, now))

    def _dispatch_scans(self) -> None:
        now = time.monotonic()
        self.waiting.extend(self.settler.pop_due(now))
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
            future = self.pool.submit(_classify_all, classifier, paths)
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
        if not batch.results and not batch.gone:
            return
        wall = time.time()
        with transaction(self._engine) as conn:
            for path, why, is_dir in batch.gone:
                self._forget(conn, path, why, is_dir, wall)
            fresh = [s.result for s in batch.results
                     if s.pending is not None and s.result.outcome is not Outcome.UNSTABLE]
            if fresh:
                files_repo.save_results(conn, fresh, rules_version=self.rt.classifier.version,
                                        scan_started_ns=time.time_ns() - 1, now=wall)
            for scanned in batch.results:
                self._decide(conn, scanned, wall)
        self.after_write()
        self.last_progress = time.monotonic()

    def _decide(self, conn: Connection, scanned: _Scanned, wall: float) -> None:
        result, pending = scanned.result, scanned.pending
        path = display_path(result.path)
        if pending is not None and result.outcome is Outcome.UNSTABLE:
            self.settler.add(pending.path, "modified", time.monotonic())
            return
        if result.labels:
            self.labelled[path] = result.labels
        elif not result.cached:
            self.labelled.pop(path, None)
        if not result.labels and not self.alerter.has_alerts(path):
            return
        moved_from = display_path(pending.src_path) if pending and pending.src_path else None
        self.alerter.evaluate(conn, result, wall, moved_from=moved_from)
        if pending is not None and result.labels:
            # One row for what happened since the last scan: a new file is "created"
            # (not also "modified" by the writes that made it).
            kind = ("moved" if "moved" in pending.kinds
                    else "created" if "created" in pending.kinds else "modified")
            self.access.record(path, kind, result.labels, wall,
                               src_path=moved_from if kind == "moved" else None)

    def _forget(self, conn: Connection, path: str, why: str, is_dir: bool, wall: float) -> None:
        shown = display_path(path)
        if is_dir:
            gone = files_repo.paths_under(conn, shown)
            files_repo.delete_paths(conn, gone)
            self.alerter.gone_under(conn, shown, why, wall)
            for p in gone:
                labels = self.labelled.pop(p, None)
                if labels:
                    self.access.record(p, "deleted" if why == "deleted" else "moved",
                                        labels, wall)
            return
        files_repo.delete_paths(conn, [shown])
        self.alerter.gone(conn, shown, why, wall)
        labels = self.labelled.pop(shown, None)
        if labels:
            kind = "deleted" if why == "deleted" else "moved"
            self.access.record(shown, kind, labels, wall)

    def crawl(self, dirs: Sequence[str] | None, cancel: threading.Event) -> ScanSummary:
        """Runs on the reconciliation thread."""
        rt = self.rt
        roots = list(rt.roots) if dirs is None else list(dirs)
        roots = [r for r in roots if os.path.isdir(r)]

        track_reads = rt.settings.watch.access_events

        def on_result(result: FileResult) -> None:
            self.last_progress = time.monotonic()
            if track_reads and not result.cached:
                self.inbox.put(_OwnRead(result.path, self.last_progress))
            path = display_path(result.path)
            if result.labels or self.alerter.has_alerts(path):
                self.inbox.put(_Scanned(result, None))

        summary = run_scan(roots, rt.classifier, self._engine, rt.pathfilter,
                           ScanOptions(jobs=rt.jobs, cancel=cancel), on_result)
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
            labels = self.labelled.get(display_path(ev.path))
            if labels:
                self.access.record(display_path(ev.path), "opened", labels, t + wall_offset,
                                   pid=ev.pid, uid=ev.uid, process=ev.process)
        self._opens = keep
        horizon = now - 3 * _OWN_READ_WINDOW
        self._reads = [(p, t) for p, t in self._reads if t >= horizon]

    def queue_depth(self) -> int:
        return len(self.settler) + len(self.waiting) + self.in_flight_files

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
        if due is None:
            return _TICK
        return min(_TICK, max(0.0, due - time.monotonic()))
