"""The reconciliation thread: crawls (answered from the incremental cache) on request.

Requests merge: a full crawl asked for while one runs is done once more after it (an
overflow during a crawl may have lost events behind the walk); subtree crawls (a new or
moved-in directory) queue behind it and are dropped when a full crawl covers them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import structlog

from dlpd.daemon.lifecycle import remaining
from dlpd.daemon.status import CrawlRecord
from dlpd.errors import DlpdError
from dlpd.policy.decide import is_under
from dlpd.scan.runner import ScanSummary

_log = structlog.get_logger("dlpd.reconcile")

# Runs one crawl over the given directories (None: every watched root).
Crawl = Callable[[Sequence[str] | None, threading.Event], ScanSummary]


class Reconciler:
    name = "dlpd-reconcile"

    def __init__(self, crawl: Crawl) -> None:
        self._crawl = crawl
        self._lock = threading.Condition()
        self._full_reason: str | None = None
        self._subtrees: dict[str, str] = {}
        self._cancel = threading.Event()
        self._stopping = False
        self._held = False  # the store is unreachable: a crawl would fail at once
        self._thread = threading.Thread(target=self._run, name="dlpd-reconcile")
        self.running_since: float | None = None
        self.last: CrawlRecord | None = None
        self.last_full: CrawlRecord | None = None

    def start(self) -> None:
        self._thread.start()

    def request_full(self, reason: str) -> None:
        with self._lock:
            self._full_reason = self._full_reason or reason
            self._lock.notify()

    def request_subtree(self, directory: str, reason: str) -> None:
        with self._lock:
            self._subtrees.setdefault(directory, reason)
            self._lock.notify()

    def hold(self, held: bool) -> None:
        """While held no crawl starts; requests wait (merged as usual) for the release."""
        with self._lock:
            self._held = held
            self._lock.notify()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._subtrees) + (self._full_reason is not None)

    def stop(self, deadline: float) -> bool:
        """Cancel the crawl in progress (a cancelled walk forgets nothing); True when the
        thread ended by ``deadline``."""
        with self._lock:
            self._stopping = True
            self._cancel.set()
            self._lock.notify()
        if self._thread.is_alive():
            self._thread.join(remaining(deadline))
        return not self._thread.is_alive()

    def _next(self) -> tuple[Sequence[str] | None, str] | None:
        with self._lock:
            while not self._stopping and (self._held or (self._full_reason is None
                                                          and not self._subtrees)):
                self._lock.wait()
            if self._stopping:
                return None
            if self._full_reason is not None:
                reason, self._full_reason = self._full_reason, None
                self._subtrees.clear()
                return None, reason
            # The outermost directories only: a subtree inside another is crawled with it.
            dirs = sorted(self._subtrees)
            outer = [d for d in dirs if not any(d != o and is_under(d, o) for o in dirs)]
            reason = self._subtrees[outer[0]]
            self._subtrees.clear()
            return outer, reason

    def _run(self) -> None:
        while (job := self._next()) is not None:
            dirs, reason = job
            self.running_since = time.time()
            try:
                summary = self._crawl(dirs, self._cancel)
            except Exception as exc:  # the crawl thread outlives any one crawl
                if isinstance(exc, DlpdError):
                    _log.error("crawl failed", reason=reason, error=str(exc))
                else:
                    _log.exception("crawl failed unexpectedly", reason=reason)
                if dirs is None and not self._stopping:
                    self.request_full(f"retry after: {exc}")
                    self._cancel.wait(5)  # set by stop(): no sleeping through it
                continue
            finally:
                self.running_since = None
            record = CrawlRecord(reason, dirs is None, summary.started, summary.finished,
                                 summary.files, summary.read, summary.found, summary.errors,
                                 summary.cancelled)
            self.last = record
            if dirs is None:
                self.last_full = record
            _log.info("crawl finished", reason=reason, full=dirs is None,
                      dirs=None if dirs is None else len(dirs), files=summary.files,
                      read=summary.read, found=summary.found, errors=summary.errors,
                      seconds=round(summary.elapsed, 3), cancelled=summary.cancelled)
