"""The daemon's pipeline: events -> settle -> scan -> decide -> store.

Stepped by the main loop (``mainloop.py``); the scan pool and the reconciliation thread
only put their results on the inbox. Each job is a module of its own:

- ``routing.py``: what an event means (settle, forget, crawl, reconcile), pure;
- ``scheduling.py``: what to read next and the scan pool;
- ``commit.py``: one step's transaction (results, alerts, forgets, access rows), its
  rollback and the retry of a failed write;
- ``opens.py``: opens of labelled files: the access log, the readers' verdict, and (with
  inotify) our own reads told apart;
- ``reconcile.py``: the crawl thread, which runs ``Pipeline.crawl``.

Paths are real paths (``os.fsdecode`` of the name's bytes): they key every index and are
what the file system is asked about; ``display_path`` is only for log lines.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import structlog

from dlpd.daemon.access_log import AccessAggregator
from dlpd.daemon.alerting import Alerter
from dlpd.daemon.attribution import ExposureCheck
from dlpd.daemon.commit import Batch, Scanned, StepWriter
from dlpd.daemon.lifecycle import remaining, stop_all
from dlpd.daemon.opens import Opens
from dlpd.daemon.reconcile import Reconciler
from dlpd.daemon.routing import (
    Attributes,
    Crawl,
    Forget,
    Opened,
    ReconcileAll,
    Settle,
    Unwatched,
    route,
)
from dlpd.daemon.runtime import Runtime
from dlpd.daemon.scheduling import Scheduler
from dlpd.daemon.status import CrawlRecord
from dlpd.dirfd import lexists_below, root_of
from dlpd.labelling.marker import MARKER_NAME
from dlpd.labelling.resolve import Resolver
from dlpd.labelling.resolve import must_read as labelled_unregistered
from dlpd.labelling.service import LabelContext
from dlpd.model import FileResult, Outcome, display_path
from dlpd.scan.runner import ScanOptions, ScanSummary, run_scan
from dlpd.store.db import Engine, EngineStore, transaction
from dlpd.watch.events import FsEvent

_log = structlog.get_logger("dlpd.daemon")

TICK = 0.5  # longest wait of one step: the loop also keeps timers, status and pings
_MAX_BATCH = 2000  # inbox items handled per transaction


def _exposure_check(rt: Runtime) -> ExposureCheck:
    return ExposureCheck(rt.judge, rt.roots, rt.settings.scan.cross_devices)


@dataclass(frozen=True, slots=True)
class _Vanished:
    """A full crawl of ``roots`` finished: alerts on files it no longer found resolve."""

    roots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _OwnRead:
    """A crawl read ``path`` (only sent when access events are recorded)."""

    path: str
    time: float


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """What the pipeline has done and holds, for the status file."""

    events: int
    events_by_kind: dict[str, int]
    overflows: int
    scanned: int
    unwatched: tuple[str, ...]
    queue_depth: int
    in_flight: int
    oldest_queued_age: float | None
    alerts_raised: int
    alerts_resolved: int
    crawl_running_since: float | None
    crawl_pending: int
    last_crawl: CrawlRecord | None
    last_full_crawl: CrawlRecord | None


@dataclass(slots=True)
class _Counters:
    events: int = 0
    events_by_kind: dict[str, int] = field(default_factory=dict)
    overflows: int = 0
    scanned: int = 0


class Pipeline:
    def __init__(self, runtime: Runtime, engine: Engine, after_write: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rt = runtime  # swapped whole by a reload
        self._engine = engine
        self._after_write = after_write
        self._clock = clock
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        watch = runtime.settings.watch
        self._alerter = Alerter(runtime.policy)
        self._access = AccessAggregator(runtime.settings.access.aggregate_window,
                                        host=runtime.policy.host)
        self._scheduler = Scheduler(runtime.jobs, watch.settle, watch.max_delay,
                                    self._inbox.put)
        resolver = Resolver(runtime.resolver, plan=runtime.plan)
        self._writer = StepWriter(engine, self._alerter, self._access,
                                  self._scheduler.forget, resolver)
        self._writer.label_ctx = LabelContext.from_settings(runtime.settings, engine,
                                                            roots=runtime.roots)
        self._writer.exposure = _exposure_check(runtime)
        self._writer.relabel = self.relabelled
        self._opens = Opens(self._access, engine, self._writer.labels)
        self._reconciler = Reconciler(self.crawl)
        self._unwatched: set[str] = set()
        self._counts = _Counters()
        self._last_progress = clock()

    # ---- what the main loop asks of it -------------------------------------------------

    def put(self, item: FsEvent | None) -> None:
        """An event for the next step (the watch backend's callback); None only wakes
        the step (a signal arrived)."""
        self._inbox.put(item)

    def configure(self, runtime: Runtime) -> None:
        """Take a reloaded configuration: rules, policy, timings."""
        self._rt = runtime
        self._alerter.policy = runtime.policy
        if self._writer.resolver is not None:
            self._writer.resolver.settings = runtime.resolver
        self._writer.label_ctx = LabelContext.from_settings(runtime.settings, self._engine,
                                                            roots=runtime.roots)
        self._writer.exposure = _exposure_check(runtime)
        self._scheduler.retime(runtime.settings.watch.settle, runtime.settings.watch.max_delay)
        self._access.window = runtime.settings.access.aggregate_window

    def load(self) -> None:
        """What the store knows that the pipeline keeps in memory: active alerts, labels."""
        self._writer.load()

    def relabelled(self, paths: Sequence[str]) -> None:
        """Labels changed on ``paths`` (`dlpd label`): read them again, so that files a
        person labelled are registered (and unlabelled ones forgotten) without waiting for
        them to change. Each is a subtree crawl (a file is a subtree of one)."""
        if self._writer.resolver is not None:
            # Before the crawl reads them: prints are wanted, and its results resolved.
            self._writer.resolver.expect()
        for path in paths:
            self._reconciler.request_subtree(path, "labels changed")

    def reconcile(self, reason: str) -> None:
        """Crawl every watched root (merged with a crawl already asked for)."""
        self._reconciler.request_full(reason)

    def hold_crawls(self, held: bool) -> None:
        """While the store is unreachable (the main loop knows) no crawl starts: each
        would fail at once. Requests made meanwhile run once it is released. Failed
        writes are kept for their retry as always, without a log line each."""
        self._reconciler.hold(held)
        self._writer.quiet = held

    def step(self, timeout: float) -> None:
        """Wait up to ``timeout`` for work, take what has arrived (up to a batch), write it
        in one transaction, and hand settled files to the scan pool."""
        items = []
        try:
            items.append(self._inbox.get(timeout=timeout) if timeout > 0
                         else self._inbox.get_nowait())
            while len(items) < _MAX_BATCH:
                items.append(self._inbox.get_nowait())
        except queue.Empty:
            pass
        batch = Batch()
        for item in items:
            self._handle(item, batch)
        self._write(batch)
        self._dispatch_scans()

    def sleep_time(self) -> float:
        """How long the next step may wait for work: until the next file is due."""
        dues = [t for t in (self._scheduler.next_due(), self._writer.next_retry())
                if t is not None]
        if not dues:
            return TICK
        return min(TICK, max(0.0, min(dues) - self._clock()))

    def settle_opens(self, now: float) -> None:
        self._opens.settle(now)

    def _on_labelled(self, action: Attributes | Opened, now: float, batch: Batch) -> None:
        """An open or an attribute change: only labelled files' matter."""
        event = action.event
        labels = self._writer.labels(event.path)
        if not labels:
            return
        if isinstance(action, Attributes):
            batch.attributes.append(event.path)
        else:
            self._opens.opened(event, labels, self._rt.judge, now, batch)

    def flush_access(self) -> None:
        self._opens.flush()

    def stats(self, now: float) -> PipelineStats:
        oldest = self._scheduler.oldest_queued()
        rec = self._reconciler
        return PipelineStats(
            events=self._counts.events, events_by_kind=dict(self._counts.events_by_kind),
            overflows=self._counts.overflows, scanned=self._counts.scanned,
            unwatched=tuple(sorted(self._unwatched)),
            queue_depth=self._scheduler.queue_depth(),
            in_flight=self._scheduler.in_flight_files(),
            oldest_queued_age=None if oldest is None else round(now - oldest, 3),
            alerts_raised=self._alerter.raised, alerts_resolved=self._alerter.resolved,
            crawl_running_since=rec.running_since, crawl_pending=rec.pending,
            last_crawl=rec.last, last_full_crawl=rec.last_full)

    def stuck(self, now: float, after: float) -> str | None:
        """Why the pipeline is stuck (a scan or a crawl without progress for ``after``
        seconds), or None."""
        oldest = self._scheduler.oldest_scan()
        if oldest is not None and now - oldest > after:
            return f"a scan is stuck ({round(now - oldest)} s)"
        if self._reconciler.running_since is not None and now - self._last_progress > after:
            return "the reconciliation crawl is stuck"
        return None

    # ---- lifecycle: the threads it owns ---------------------------------------------------

    def start(self) -> None:
        """Start the crawl thread with a full crawl (the scan pool starts with its first
        task)."""
        self._reconciler.start()
        self._scheduler.start()
        self._reconciler.request_full("start")

    def stop(self, deadline: float) -> list[str]:
        """Stop the crawl; finish what is being scanned and write it; flush the access
        log; shut the pool. Returns the names of the threads that did not end by
        ``deadline``. What is only queued is found by the next start's crawl (its stat
        key no longer matches the store)."""
        _log.info("stopping", in_flight=self._scheduler.in_flight_files(),
                  queued=self._scheduler.settling())
        late = stop_all([self._reconciler], deadline)
        self._scheduler.drop_waiting()
        while self._scheduler.is_scanning() and remaining(deadline) > 0:
            self.step(min(0.1, remaining(deadline)))
        abandoned = self._scheduler.in_flight_files()
        self._drain_inbox()
        self.flush_access()
        late += stop_all([self._scheduler], deadline)
        if abandoned:
            _log.warning("gave up on in-flight scans at shutdown", count=abandoned)
        return late

    # ---- one step ------------------------------------------------------------------------

    def _handle(self, item: object, batch: Batch) -> None:
        if isinstance(item, FsEvent):
            self._counts.events += 1
            kinds = self._counts.events_by_kind
            kinds[item.kind.value] = kinds.get(item.kind.value, 0) + 1
            self._on_event(item, batch)
        elif isinstance(item, Future):
            done = self._scheduler.collect(item)
            if done is None:
                return
            self._counts.scanned += len(done)
            self._note_reads([p.path for p, _r in done])
            batch.results += [Scanned(r, p) for p, r in done]
        elif isinstance(item, Scanned):
            batch.results.append(item)
        elif isinstance(item, _OwnRead):
            self._opens.ours([item.path], item.time)
        elif isinstance(item, _Vanished):
            for path in self._alerter.paths():
                root = root_of(path, item.roots)
                if root is not None and not self._exists(root, path):
                    batch.gone.append((path, "no longer present (reconciliation)", False))

    def _on_event(self, ev: FsEvent, batch: Batch) -> None:
        now = self._clock()
        for action in route(ev, self._rt.pathfilter.is_excluded, self._rt.pathfilter.is_pruned):
            match action:
                case Settle(path, kind, src, actor):
                    self._scheduler.add(path, kind, now, src_path=src, actor=actor)
                case Forget(path, why, is_dir):
                    if is_dir:
                        self._scheduler.discard_under(path)
                    else:
                        self._scheduler.discard(path)
                    batch.gone.append((path, why, is_dir))
                case Crawl(directory, reason):
                    self._reconciler.request_subtree(directory, reason)
                case ReconcileAll(reason, root):
                    self._counts.overflows += 1
                    _log.warning("events were lost (kernel queue overflow); reconciling",
                                 root=root or "all", overflows=self._counts.overflows)
                    self._reconciler.request_full(reason)
                case Unwatched(path):
                    self._unwatched.add(path)
                case Attributes() | Opened():
                    self._on_labelled(action, now, batch)

    def _dispatch_scans(self) -> None:
        now = self._clock()
        for path, (kind, src, actor) in self._writer.due_files(now).items():
            self._scheduler.add(path, kind, now, src_path=src, actor=actor)
        rt = self._rt
        self._note_reads(self._scheduler.dispatch(now, rt.classifier, rt.roots, rt.jobs))

    def _note_reads(self, paths: list[str]) -> None:
        # Only what could explain an "opened" event is worth remembering.
        if paths and self._rt.settings.watch.access_events:
            self._opens.ours(paths, self._clock())

    def _write(self, batch: Batch) -> None:
        now = self._clock()
        # Forgets a failed write left: still true only if nothing is there again (a new
        # file at the path has events of its own).
        batch.gone[:0] = [g for g in self._writer.due_forgets(now)
                          if not self._exists(root_of(g[0], self._rt.roots), g[0])]
        batch.results = [s for s in batch.results if self._is_final(s, now)]
        if self._writer.write(batch, self._rt.classifier.version, now, time.time(),
                              time.time_ns() - 1):
            self._after_write()
            self._last_progress = self._clock()

    def _is_final(self, scanned: Scanned, now: float) -> bool:
        result, pending = scanned.result, scanned.pending
        if pending is None:
            return True  # a crawl's: stored by the crawl, evaluated as it is
        if result.outcome is Outcome.ERROR:
            _log.warning("file not read", path=display_path(result.path),
                         reason=result.reason)
        return self._scheduler.is_final(result, now)

    def _drain_inbox(self) -> None:
        """Write the results still on the inbox (at shutdown; events are dropped)."""
        batch = Batch()
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Scanned):
                batch.results.append(item)
        self._write(batch)

    def _exists(self, root: str | None, path: str) -> bool:
        """Whether ``path`` is still there, asked through its root's directories (a
        parent swapped for a symlink does not keep a deleted file's alert alive)."""
        if root is None:
            return False
        return lexists_below(root, path, cross_devices=self._rt.settings.scan.cross_devices)

    # ---- the crawl (on the reconciliation thread) ------------------------------------------

    def crawl(self, dirs: Sequence[str] | None, cancel: threading.Event) -> ScanSummary:
        """Runs on the reconciliation thread. ``dirs`` (a subtree crawl) are names below
        the watched roots, reached from them without following a symlink: by now a new
        directory's name may be a symlink to anywhere."""
        rt = self._rt
        # The configured roots are the administrator's: checked by path.
        roots = [r for r in rt.roots if os.path.isdir(r)] if dirs is None else list(dirs)

        track_reads = rt.settings.watch.access_events

        def on_result(result: FileResult) -> None:
            self._last_progress = self._clock()
            if track_reads and not result.cached:
                self._inbox.put(_OwnRead(result.path, self._last_progress))
            if result.outcome is Outcome.ERROR and not result.cached:
                _log.warning("file not read", path=display_path(result.path),
                             reason=result.reason)
            # has_alerts runs on this thread while the main thread may commit: a stale
            # answer costs one extra item on the inbox or waits for the next crawl. A file
            # read while something is labelled goes to the resolver (it may be a copy, or
            # carry a person's label that no marking shows).
            resolver = self._writer.resolver
            if (result.labels or self._alerter.has_alerts(result.path)
                    or (resolver is not None and not resolver.idle and not result.cached)
                    or (os.path.basename(result.path) == MARKER_NAME and not result.cached)):
                self._inbox.put(Scanned(result, None))

        with transaction(self._engine) as conn:
            must_read = labelled_unregistered(conn, rt.resolver.host)
        summary = run_scan(roots, rt.classifier, EngineStore(self._engine), rt.pathfilter,
                           ScanOptions(host=rt.policy.host, jobs=rt.jobs, cancel=cancel,
                                       cross_devices=rt.settings.scan.cross_devices,
                                       trusted_roots=tuple(rt.roots), must_read=must_read),
                           on_result)
        if dirs is None and not summary.cancelled:
            # Alerts on files the crawl no longer finds (deleted while unwatched).
            self._inbox.put(_Vanished(tuple(roots)))
        return summary
