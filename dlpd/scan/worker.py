"""A scan worker's side: the loop a forked worker runs (scan/workers.py is the parent's).

It reads batches from its pipe, classifies them, writes the results back, and records in
shared memory which job it is on and since when, so that the parent can blame the file
if the worker dies or hangs. It ignores SIGINT and SIGTERM (the parent decides), dies
with the parent, and leaves to be replaced once it has grown past its memory bound.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from dlpd.classify.classifier import Classifier
from dlpd.model import FileResult
from dlpd.scan.jobs import Job, SharedState, classify_job

# Exit status of a worker that left to be replaced (not a crash).
RECYCLED = 75
_PR_SET_NAME = 15
_PR_SET_PDEATHSIG = 1


def serve(conn: Connection, classifier: Classifier, state: SharedState | None,
           current: Any, started: Any, recycle_rss: int) -> None:
    # A Ctrl-C or a SIGTERM sent to the process group is the parent's to act on: it
    # finishes the files in flight (ours among them), then closes the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if message is None:
            os._exit(0)
        jobs, fresh = message
        if fresh is not None and state is not None:
            state.restore(fresh)
        results = _classify(classifier, jobs, current, started)
        rss = _rss()
        conn.send((results, rss))
        if rss > recycle_rss:
            # Leave now and be replaced; batches already queued to us are handed to the
            # replacement by the parent.
            os._exit(RECYCLED)


def _classify(classifier: Classifier, jobs: Sequence[Job], current: Any,
              started: Any) -> list[FileResult]:
    results = []
    for index, job in enumerate(jobs):
        started.value = time.monotonic()
        current.value = index
        results.append(classify_job(classifier, job))
    current.value = -1
    return results


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _die_with_parent() -> None:
    """SIGKILL this worker when the scanning process dies (even by SIGKILL itself), and
    name it for ps and top."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(b"dlpd-worker"), 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)
