"""Run a scan: walk, answer unchanged files from the cache, classify the rest in
batches (on threads or worker processes: scan/workers.py), write results to the store in
batches, and hand every result to the caller in walk order.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from dlpd.classify.classifier import Classifier
from dlpd.dirfd import OutsideRoot, root_of
from dlpd.errors import os_reason
from dlpd.model import FileResult, Outcome
from dlpd.scan.cache import DirectoryCache
from dlpd.scan.jobs import Done, Job, SharedState, Submit
from dlpd.scan.pathfilter import PathFilter
from dlpd.scan.walk import Entry, Listing, walk, walk_listings
from dlpd.scan.workers import RECYCLE_RSS, executor
from dlpd.scan.writer import WRITE_BATCH, Resolve, Writer
from dlpd.store import files as repo
from dlpd.store.files import CachedFile
from dlpd.store.sql import Sql, Transactions

_BATCH_FILES = 32
_BATCH_BYTES = 4 * 1024 * 1024
# Batches waiting per job, finished or not, behind the oldest unfinished one.
_MAX_IN_FLIGHT = 16



@dataclass(frozen=True, slots=True)
class ScanOptions:
    # Whose cache the scan reads and writes ([daemon] host; config.host_name): another
    # host's rows for the same paths are never used nor forgotten.
    host: str = field(default_factory=socket.gethostname)
    jobs: int = 2
    # Classify in ``jobs`` worker processes instead of threads (``dlpd scan``): every
    # core for the GIL-bound parsers, and a crashing parser costs one file. The daemon
    # keeps threads: it forks nothing while its watcher and sinks run.
    processes: bool = False
    # What the workers must follow while the scan changes it (which prints to make).
    shared_state: SharedState | None = None
    # A worker process whose resident memory passes this after a batch is replaced.
    worker_memory: int = RECYCLE_RSS
    use_cache: bool = True
    # Walk into and read from other file systems mounted below a root ([scan] cross_devices).
    cross_devices: bool = False
    # The configured roots that the scanned roots lie below (the daemon's subtree crawls):
    # a scanned root is then reached from its trusted root without following a symlink,
    # and one outside them all is refused. None: the scanned roots are trusted as given.
    trusted_roots: tuple[str, ...] | None = None
    # `dlpd scan` with labels about: each read file's labels resolved (a person's, copies,
    # extracts) before it reaches on_result. None: detected labels only (the daemon
    # resolves on its own thread).
    resolve: Resolve | None = None
    # Files to read even when the cache says they are unchanged (labelling.resolve:
    # labelled files not yet registered); None: the cache decides alone.
    must_read: Callable[[str], bool] | None = None
    # Set by the daemon to stop a crawl early (shutdown): the walk stops, work in flight
    # is finished and stored; only what vanished from directories already listed whole
    # is forgotten.
    cancel: threading.Event | None = None


@dataclass(slots=True)
class WalkProgress:
    """What a counting walk has listed so far: the files a scan of the same roots will
    report, and their lstat sizes. ``done`` once it has listed them all (then ``files`` is
    the scan's total). Written by one thread (``count_walk``), read by another: plain
    counters, no lock (a reader sees a slightly old count, never a torn one)."""

    files: int = 0
    bytes: int = 0
    done: bool = False


def count_walk(roots: Sequence[str], pathfilter: PathFilter, options: ScanOptions,
               into: WalkProgress, stop: threading.Event) -> None:
    """Walk ``roots`` as ``run_scan`` will, counting, and nothing else: a progress display
    runs it in a thread beside the scan to learn the total early. The scan's own walk
    cannot tell it: it waits for the readers (at most ``2 * jobs`` batches ahead), and
    buffering a whole tree's entries to run ahead would cost memory by the file."""
    for _root, entry in _entries(roots, pathfilter, options):
        if stop.is_set():
            return
        into.files += 1
        if entry.lstat is not None:
            into.bytes += entry.lstat.st_size
    into.done = True


@dataclass(slots=True)
class ScanSummary:
    """Counters of one scan, for the summary line and the scans table."""

    files: int = 0
    read: int = 0
    cached: int = 0
    found: int = 0
    errors: int = 0
    skipped: int = 0
    limited: int = 0
    unstable: int = 0
    # Paths the store knew under these roots that the walk did not meet: deleted from it.
    forgotten: int = 0
    cancelled: bool = False
    bytes_read: int = 0
    started: float = field(default_factory=time.time)
    finished: float = 0.0

    def count(self, result: FileResult) -> None:
        self.files += 1
        if result.cached:
            self.cached += 1
        else:
            self.read += 1
            self.bytes_read += result.scanned_bytes
        if result.detections:
            self.found += 1
        outcome = result.outcome
        if outcome is Outcome.OK:  # nearly every file: one test, not four
            return
        match outcome:
            case Outcome.ERROR:
                self.errors += 1
            case Outcome.SKIPPED:
                self.skipped += 1
            case Outcome.LIMIT_EXCEEDED:
                self.limited += 1
            case Outcome.UNSTABLE:
                self.unstable += 1
            case _:
                pass

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started


def _walk_error(entry: Entry) -> FileResult:
    exc = entry.error
    if isinstance(exc, OutsideRoot):
        return FileResult(entry.path, Outcome.SKIPPED, reason=exc.strerror)
    return FileResult(entry.path, Outcome.ERROR, reason=os_reason(exc))


class _Pipeline:
    """Feeds files to the pool in batches and hands results back in walk order."""

    def __init__(self, submit: Submit, jobs: int, emit: Callable[[FileResult], None]) -> None:
        self._submit_batch = submit
        self._jobs = jobs
        self._emit = emit
        # Futures in submission order: results come out in walk order, and waiting on the
        # oldest is all the bookkeeping there is.
        self._in_flight: deque[Future[Done]] = deque()
        self._retry: list[Job] = []
        self._batch: list[Job] = []
        self._batch_bytes = 0

    def add(self, path: str, root: str, lst: os.stat_result) -> None:
        # Small files travel in batches: one future per file cost more than a 1 KB scan.
        self._batch.append((path, root, lst, 0))
        self._batch_bytes += lst.st_size
        if len(self._batch) >= _BATCH_FILES or self._batch_bytes >= _BATCH_BYTES:
            self._submit(self._batch)
            self._batch, self._batch_bytes = [], 0

    def finish(self) -> None:
        if self._batch:
            self._submit(self._batch)
        self._drain()
        if self._retry:
            retry, self._retry = self._retry, []
            self._submit(retry)
            self._drain()

    def _submit(self, batch: list[Job]) -> None:
        self._in_flight.append(self._submit_batch(batch))
        self._collect()
        # Wait while every job has work queued: for any batch to finish, not the oldest,
        # so that one slow file (a 400-page PDF) does not idle the other jobs. Finished
        # batches behind it wait for their turn, up to a bound (their results are small).
        while True:
            running = [f for f in self._in_flight if not f.done()]
            if not running or (len(running) < 2 * self._jobs
                               and len(self._in_flight) < _MAX_IN_FLIGHT * self._jobs):
                return
            wait(running, return_when=FIRST_COMPLETED)
            self._collect()

    def _drain(self) -> None:
        while self._in_flight:
            self._in_flight[0].result()
            self._collect()

    def _collect(self) -> None:
        """Hand on the results of the finished batches at the head, in walk order."""
        while self._in_flight and self._in_flight[0].done():
            for (result, attempt), root in self._in_flight.popleft().result():
                if result.outcome is Outcome.UNSTABLE and attempt == 0:
                    # Being written right now: look again once, after the others.
                    self._retry.append((result.path, root, None, 1))
                    continue
                self._emit(result)


def run_scan(
    roots: Sequence[str],
    classifier: Classifier,
    store: Transactions,
    pathfilter: PathFilter,
    options: ScanOptions,
    on_result: Callable[[FileResult], None],
) -> ScanSummary:
    """Scan ``roots`` (absolute paths) and call ``on_result`` for every file, in the
    calling thread. Per-file problems are results; only store failures raise."""
    summary = ScanSummary()
    started_ns = time.time_ns()
    with store.transaction() as sql:
        scan_id = repo.start_scan(sql, roots, classifier.version, summary.started,
                                  host=options.host)
    writer = Writer(store, classifier.version, started_ns, options.resolve, on_result,
                    host=options.host)

    holding = writer.holding

    def emit(result: FileResult) -> None:
        summary.count(result)
        if holding:
            writer.add(result)
            return
        if not result.cached:  # the writer keeps nothing of a cached result it does not hold
            writer.add(result)
        on_result(result)

    jobs = max(1, options.jobs)
    # One connection reads the cache along the walk (SQLite: each query its own snapshot,
    # so the writer's commits on its own connection are never blocked).
    with (executor(classifier, jobs, processes=options.processes,
                   state=options.shared_state, recycle_rss=options.worker_memory) as submit,
          store.transaction() as reader):
        scan = _CachedScan(reader, classifier.version, options,
                           _Pipeline(submit, jobs, emit), emit)
        for root in roots:
            if not scan.root(root, pathfilter, writer):
                summary.cancelled = True
                break
        scan.pipeline.finish()
    writer.flush()
    summary.finished = time.time()
    with store.transaction() as sql:
        summary.forgotten = writer.forgotten
        repo.finish_scan(sql, scan_id, now=summary.finished, files_seen=summary.files,
                         read=summary.read, found=summary.found, errors=summary.errors)
    return summary


class _CachedScan:
    """The walk of each root, each file answered from the cache or handed to the pool."""

    def __init__(self, reader: Sql, version: str, options: ScanOptions,
                 pipeline: _Pipeline, emit: Callable[[FileResult], None]) -> None:
        self._reader = reader
        self._version = version
        self._options = options
        self.pipeline = pipeline
        self._emit = emit
        self._cache = DirectoryCache(reader, options.host)
        # Cached files with findings wait here for their detections, read in one query.
        self._with_findings: list[tuple[str, CachedFile]] = []

    def root(self, given: str, pathfilter: PathFilter, writer: Writer) -> bool:
        """Scan one root; False when cancelled (what was found gone so far is forgotten:
        each directory's listing was whole)."""
        options = self._options
        start = os.path.abspath(given)
        trusted = (start if options.trusted_roots is None
                   else root_of(start, options.trusted_roots))
        items: Iterator[Listing | Entry]
        if trusted is None:
            items = iter([Entry(start, None, OutsideRoot(errno.EINVAL, "outside the roots"))])
        else:
            items = walk_listings(start, pathfilter, cross_devices=options.cross_devices,
                                  trusted=trusted)
        walked = False
        for item in items:
            walked = True
            if self._cancelled():  # also between listings of empty directories
                return False
            if isinstance(item, Listing):
                if item.path == start:
                    self._cache.forget_exactly(start)  # a file once, a directory now
                pairs = self._cache.pair(item)
            else:
                pairs = iter([(item, self._single(item))])
            if not self._answer(pairs, trusted or start):
                self._hand_over(writer)
                return False
            self._hand_over(writer)
        if not walked:
            # A subtree that came and went, or an excluded file: nothing of it is left.
            self._cache.forget_below(start)
            self._hand_over(writer)
        return True

    def _cancelled(self) -> bool:
        return self._options.cancel is not None and self._options.cancel.is_set()

    def _single(self, entry: Entry) -> CachedFile | None:
        if entry.lstat is None:
            # The root or a directory that could not be read: its files cannot be seen.
            self._cache.forget_below(entry.path)
            return None
        return repo.cached_file(self._reader, entry.path, host=self._options.host)

    def _answer(self, pairs: Iterator[tuple[Entry, CachedFile | None]], root: str) -> bool:
        """Each entry of one listing, in order: answered from the cache, or handed to the
        pool; False when cancelled. A warm rescan runs this loop's body once a file, so
        what it looks up is looked up once a listing."""
        options = self._options
        cancel, must_read, use_cache = options.cancel, options.must_read, options.use_cache
        version, emit, cached_result = self._version, self._emit, repo.cached_result
        for entry, cached in pairs:
            if cancel is not None and cancel.is_set():
                return False
            lstat = entry.lstat
            if lstat is None:
                emit(_walk_error(entry))
            elif (cached is not None and use_cache and cached.is_fresh(lstat, version)
                    and (must_read is None or not must_read(entry.path))):
                if cached.categories_json == "[]":  # no findings: no detections to fetch
                    emit(cached_result(entry.path, cached, ()))
                    continue
                self._with_findings.append((entry.path, cached))
                if len(self._with_findings) >= WRITE_BATCH:
                    self._emit_with_findings()
            else:
                self.pipeline.add(entry.path, root, lstat)
        return True

    def _emit_with_findings(self) -> None:
        waiting, self._with_findings = self._with_findings, []
        dets = repo.load_detections(self._reader, [c.id for _, c in waiting])
        for path, cached in waiting:
            self._emit(repo.cached_result(path, cached, dets.get(cached.id, ())))

    def _hand_over(self, writer: Writer) -> None:
        """At the end of a listing: what waits for detections goes out, what is gone goes
        to the writer."""
        if self._with_findings:
            self._emit_with_findings()
        writer.forget(*self._cache.take_gone())


def _entries(roots: Sequence[str], pathfilter: PathFilter,
             options: ScanOptions) -> Iterator[tuple[str, Entry]]:
    """(the trusted root, an entry) for every entry below ``roots``, as run_scan walks."""
    for given in roots:
        start = os.path.abspath(given)
        trusted = (start if options.trusted_roots is None
                   else root_of(start, options.trusted_roots))
        if trusted is None:
            yield start, Entry(start, None, OutsideRoot(errno.EINVAL, "outside the roots"))
            continue
        for entry in walk(start, pathfilter, cross_devices=options.cross_devices,
                          trusted=trusted):
            yield trusted, entry
