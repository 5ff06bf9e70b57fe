"""The reconciliation thread's merging of requests, with a crawl that the test holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from dlpd.daemon.reconcile import Reconciler
from dlpd.scan.runner import ScanSummary


class HeldCrawl:
    """Records each crawl and holds it until the test releases it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...] | None] = []
        self.started = threading.Semaphore(0)
        self.release = threading.Semaphore(0)

    def __call__(self, dirs: Sequence[str] | None, cancel: threading.Event) -> ScanSummary:
        self.calls.append(None if dirs is None else tuple(dirs))
        self.started.release()
        while not self.release.acquire(timeout=0.01):
            if cancel.is_set():
                return ScanSummary(cancelled=True, finished=time.time())
        return ScanSummary(files=1, finished=time.time())

    def wait_started(self) -> None:
        assert self.started.acquire(timeout=5), "no crawl started"


def test_requests_during_a_crawl_merge() -> None:
    crawl = HeldCrawl()
    rec = Reconciler(crawl)
    rec.start()
    try:
        rec.request_full("start")
        crawl.wait_started()
        # While the full crawl runs: subtrees, and two more full requests.
        rec.request_subtree("/r/a", "new directory")
        rec.request_full("overflow")
        rec.request_full("interval")
        assert rec.pending == 2  # one full (merged), one subtree
        crawl.release.release()
        crawl.wait_started()  # the full crawl once more; the subtree is covered by it
        assert crawl.calls == [None, None]
        # While that one runs: nested and separate subtrees.
        rec.request_subtree("/r/a/b", "new directory")
        rec.request_subtree("/r/a", "moved in")
        rec.request_subtree("/r/c", "new directory")
        crawl.release.release()
        crawl.wait_started()
        assert crawl.calls[2] == ("/r/a", "/r/c")  # the outermost only, in one crawl
        crawl.release.release()
        deadline = time.monotonic() + 5
        while rec.running_since is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rec.pending == 0 and len(crawl.calls) == 3
        assert rec.last is not None and rec.last.reason == "moved in" and not rec.last.full
        assert rec.last_full is not None and rec.last_full.reason == "overflow"
    finally:
        assert rec.stop(time.monotonic() + 5)


def test_stop_cancels_the_crawl_in_progress_by_the_deadline() -> None:
    crawl = HeldCrawl()
    rec = Reconciler(crawl)
    rec.start()
    rec.request_full("start")
    crawl.wait_started()
    assert rec.stop(time.monotonic() + 5)  # never released: cancelled
    assert rec.last is not None and rec.last.cancelled
