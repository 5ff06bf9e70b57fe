"""Run a scan: walk, answer unchanged files from the cache, classify the rest on a thread
pool, write results to the store in batches, and hand every result to the caller.

Threads, not processes: the heavy work (YARA, sha256, libmagic, reads, zlib) releases the
GIL, and threads share the compiled rules (see ../shared/FACTS.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy import Engine

from dlpd.classify.classifier import Classifier
from dlpd.classify.reading import file_stat
from dlpd.model import FileResult, Outcome, display_path
from dlpd.scan.pathfilter import PathFilter
from dlpd.scan.walk import Entry, walk
from dlpd.store import files as repo

_WRITE_BATCH = 500


@dataclass(frozen=True, slots=True)
class ScanOptions:
    jobs: int = 2
    use_cache: bool = True


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
    forgotten: int = 0
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
        match result.outcome:
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
    reason = "permission denied" if isinstance(exc, PermissionError) else (
        "vanished: no such file" if isinstance(exc, FileNotFoundError)
        else (exc.strerror if exc and exc.strerror else str(exc)))
    return FileResult(entry.path, Outcome.ERROR, reason=reason)


class _Writer:
    """Buffers results and writes them in one transaction per batch (single writer)."""

    def __init__(self, engine: Engine, rules_version: str, started_ns: int) -> None:
        self._engine = engine
        self._rules_version = rules_version
        self._started_ns = started_ns
        self._pending: list[FileResult] = []

    def add(self, result: FileResult) -> None:
        if result.cached or result.outcome is Outcome.UNSTABLE:
            return
        self._pending.append(result)
        if len(self._pending) >= _WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        with self._engine.begin() as conn:
            repo.save_results(conn, self._pending, rules_version=self._rules_version,
                              scan_started_ns=self._started_ns, now=time.time())
        self._pending.clear()


def run_scan(
    roots: Sequence[str],
    classifier: Classifier,
    engine: Engine,
    pathfilter: PathFilter,
    options: ScanOptions,
    on_result: Callable[[FileResult], None],
) -> ScanSummary:
    """Scan ``roots`` (absolute paths) and call ``on_result`` for every file, in the
    calling thread. Per-file problems are results; only store failures raise."""
    summary = ScanSummary()
    version = classifier.ruleset.version
    started_ns = time.time_ns()
    with engine.begin() as conn:
        cache = repo.load_cache(conn, roots)
        scan_id = repo.start_scan(conn, roots, version, summary.started)
        cached_dets = repo.load_detections(
            conn, [c.id for c in cache.values() if c.has_findings]) if options.use_cache else {}
    writer = _Writer(engine, version, started_ns)

    def emit(result: FileResult) -> None:
        summary.count(result)
        writer.add(result)
        on_result(result)

    with ThreadPoolExecutor(max_workers=max(1, options.jobs),
                            thread_name_prefix="dlpd-scan") as pool:
        in_flight: dict[Future[FileResult], int] = {}
        cap = max(1, options.jobs) * 4

        def drain(block: bool) -> None:
            if not in_flight:
                return
            done, _ = wait(list(in_flight), timeout=None if block else 0,
                           return_when=FIRST_COMPLETED)
            for fut in done:
                attempt = in_flight.pop(fut)
                result = fut.result()
                if result.outcome is Outcome.UNSTABLE and attempt == 0:
                    # Being written right now: look again once, after the others.
                    in_flight[pool.submit(classifier.classify, result.path)] = 1
                    continue
                emit(result)

        for entry in _entries(roots, pathfilter):
            if entry.lstat is None:
                emit(_walk_error(entry))
                continue
            key = display_path(entry.path)
            cached = cache.pop(key, None)
            if options.use_cache and cached is not None and cached.is_fresh(
                    file_stat(entry.lstat), version):
                emit(repo.cached_result(entry.path, cached, cached_dets.get(cached.id, ())))
                continue
            in_flight[pool.submit(classifier.classify, entry.path, entry.lstat)] = 0
            while len(in_flight) >= cap:
                drain(block=True)
            drain(block=False)
        while in_flight:
            drain(block=True)
    writer.flush()
    summary.finished = time.time()
    with engine.begin() as conn:
        # What the store knew under these roots and the walk did not meet is gone.
        summary.forgotten = repo.delete_paths(conn, list(cache))
        repo.finish_scan(conn, scan_id, now=summary.finished, files_seen=summary.files,
                         read=summary.read, found=summary.found, errors=summary.errors)
    return summary


def _entries(roots: Sequence[str], pathfilter: PathFilter) -> Iterator[Entry]:
    for root in roots:
        yield from walk(os.path.abspath(root), pathfilter)
