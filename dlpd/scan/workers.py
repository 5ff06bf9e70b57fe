"""Worker processes that classify a scan's files: the GIL-bound work (office XML,
notebooks, JSON, validators, PDFium under its process-wide lock) on every core, and a
parser that crashes or hangs costs one file, not the scan.

Forked from the scanning process once its classifier is built, so the compiled rules,
libmagic's database and the imported modules are shared copy-on-write and a worker starts
in milliseconds. A worker never touches the store: it receives batches of jobs over a
pipe and sends back results. In the parent, one reader thread per worker completes the
futures the scan's pipeline waits on, in the order the worker took the batches.

What can go wrong in a worker and what the scan does about it:

- it dies (a segfault in a C parser, the kernel's OOM killer, an rlimit): the file it was
  reading (its index is in shared memory) gets an ``error`` result naming the signal;
  the batches it held go to a fresh worker;
- it takes too long over one file (longer than the scan timeout plus a grace period: a
  parser looping inside C where the timeout checks cannot reach): it is killed, likewise;
- it has grown (a big document's heap stays fragmented): after the batch it exits on its
  own and is replaced (``worker.RECYCLED``).

Workers ignore SIGINT and SIGTERM (a Ctrl-C reaches the whole process group; the parent
decides whether to stop) and die with the parent (``PR_SET_PDEATHSIG``). A file whose
reader died is not recorded (its result has no stat): the next scan reads it again.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from dlpd.classify.classifier import Classifier
from dlpd.errors import DlpdError
from dlpd.model import FileResult, Outcome
from dlpd.scan.jobs import Done, Job, SharedState, Submit, classify_batch
from dlpd.scan.worker import RECYCLED, serve

# A worker whose resident memory passed this after a batch exits and is replaced
# ([scan] worker_memory): heap freed by a big document is not always given back.
RECYCLE_RSS = 384 * 1024 * 1024
# Seconds beyond the scan timeout before a worker still on the same file is killed (a
# quarter of it, at least this): the classifier's own deadline checks stop every
# extractor that returns to Python, this is for one stuck inside C.
_MIN_GRACE = 5.0
# Workers that die without a file to blame, in a row, before the scan gives up (fork
# failing, the system out of memory): a bound on respawning.
_MAX_BLAMELESS = 3


class WorkerError(DlpdError):
    """The worker processes cannot be kept running."""


@dataclass(slots=True)
class _Task:
    """One batch: its jobs, the future the pipeline waits on, and the results already
    known without a worker (files that killed one)."""

    jobs: list[Job]
    future: Future[Done]
    known: dict[int, FileResult] = field(default_factory=dict)

    def to_send(self) -> list[int]:
        return [i for i in range(len(self.jobs)) if i not in self.known]

    def complete(self, sent: list[int], results: list[FileResult]) -> None:
        by_index = dict(self.known)
        by_index.update(zip(sent, results, strict=True))
        self.future.set_result([((by_index[i], job[3]), job[1])
                                for i, job in enumerate(self.jobs)])


@dataclass(slots=True)
class _Sent:
    task: _Task
    indices: list[int]  # which of the task's jobs this message carried, in order


class _Worker:
    """One forked worker: its process, its end of the pipe, what it holds, and a sender
    thread: messages are queued, never written by the thread that decides them, so that
    no lock is held over a pipe write (a batch of long paths can fill the pipe while the
    worker itself waits for its results to be read)."""

    def __init__(self, ctx: Any, classifier: Classifier, state: SharedState | None,
                 recycle_rss: int) -> None:
        parent_end, child_end = ctx.Pipe(duplex=True)
        # The index of the job being read (-1: between batches) and when it started
        # (CLOCK_MONOTONIC is one clock for every process).
        self.current = ctx.RawValue("i", -1)
        self.started = ctx.RawValue("d", 0.0)
        self.process: BaseProcess = ctx.Process(
            target=serve, name="dlpd-worker", daemon=True,
            args=(child_end, classifier, state, self.current, self.started, recycle_rss))
        # The parent's objects are not collected in the child: a collection would touch
        # (and so copy) every page of them.
        gc.freeze()
        try:
            self.process.start()
        finally:
            gc.unfreeze()
        child_end.close()
        self.conn: Connection = parent_end
        self.held: deque[_Sent] = deque()
        self.last_state: object = None
        self.timed_out = False
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._pump, daemon=True,
                                        name="dlpd-worker-send")
        self._sender.start()

    def send(self, task: _Task, state: SharedState | None) -> None:
        """Queue ``task``'s jobs not yet known (under the pool's lock)."""
        indices = task.to_send()
        snapshot = state.snapshot() if state is not None else None
        fresh = snapshot if snapshot is not self.last_state else None
        self.last_state = snapshot
        self.held.append(_Sent(task, indices))
        self._outbox.put(([task.jobs[i] for i in indices], fresh))

    def stop(self) -> None:
        """Ask the worker to leave once it has read what is queued."""
        self._outbox.put(None)

    def release(self) -> None:
        """After the process has ended: the sender finishes (its writes fail at once on
        a closed pipe), then the pipe is closed."""
        self._outbox.put(None)
        self._sender.join(5.0)
        self.conn.close()

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()

    def _pump(self) -> None:
        while True:
            message = self._outbox.get()
            try:
                self.conn.send(message)
            except (OSError, ValueError):
                return
            if message is None:
                return


class WorkerPool:
    """``jobs`` worker processes; ``submit`` a batch, get a future of its results."""

    def __init__(self, classifier: Classifier, jobs: int, *,
                 state: SharedState | None = None, hard_timeout: float | None = None,
                 recycle_rss: int = RECYCLE_RSS) -> None:
        self._ctx = multiprocessing.get_context("fork")
        self._classifier = classifier
        self._recycle_rss = recycle_rss
        self._state = state
        self._hard_timeout = hard_timeout
        self._lock = threading.Lock()
        self._closed = False
        self._blameless = 0
        self._failure: WorkerError | None = None
        self._workers: list[_Worker] = []
        self._readers: list[threading.Thread] = []
        for slot in range(max(1, jobs)):
            self._workers.append(self._spawn())
            reader = threading.Thread(target=self._read, args=(slot,), daemon=True,
                                      name=f"dlpd-worker-{slot}")
            self._readers.append(reader)
        for reader in self._readers:
            reader.start()

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._classifier, self._state, self._recycle_rss)

    def submit(self, jobs: list[Job]) -> Future[Done]:
        future: Future[Done] = Future()
        with self._lock:
            if self._failure is not None:
                raise self._failure
            worker = min(self._workers, key=lambda w: len(w.held))
            worker.send(_Task(jobs, future), self._state)
        return future

    def close(self) -> None:
        """Stop the workers: those idle leave at once, any still reading are killed."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            worker.stop()
        deadline = time.monotonic() + 5.0
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.kill()
                worker.process.join(1.0)
        for reader in self._readers:
            reader.join(1.0)
        for worker in workers:
            worker.release()

    # -- the parent's reader thread per slot ------------------------------------------
    def _read(self, slot: int) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                worker = self._workers[slot]
            try:
                if not self._wait(worker):
                    continue
                results, _rss = worker.conn.recv()
            except (EOFError, OSError):
                if not self._replace(slot, worker):
                    return
                continue
            with self._lock:
                sent = worker.held.popleft()
            self._blameless = 0
            sent.task.complete(sent.indices, results)

    def _wait(self, worker: _Worker) -> bool:
        """Wait for the worker's next message; False to look again (the worker was killed
        for overrunning the timeout: its end of the pipe then reads EOF)."""
        if worker.conn.poll(1.0):
            return True
        if self._hard_timeout is not None and worker.current.value >= 0 and (
                time.monotonic() - worker.started.value > self._hard_timeout):
            worker.timed_out = True
            worker.kill()
        return False

    def _replace(self, slot: int, dead: _Worker) -> bool:
        """The worker at ``slot`` is gone: blame the file it was reading, start another,
        hand it what the dead one held. False when the pool is closing or failed."""
        dead.process.join(5.0)
        code = dead.process.exitcode
        with self._lock:
            if self._closed:
                return False
            held = list(dead.held)
            blamed = self._blame(dead, held, code)
            if code != RECYCLED and not blamed:
                self._blameless += 1
            if self._blameless >= _MAX_BLAMELESS:
                self._fail(held, WorkerError(
                    f"scan worker processes keep exiting ({_exit_reason(code)})"))
                return False
            try:
                fresh = self._spawn()
            except OSError as exc:
                self._fail(held, WorkerError(f"cannot start a scan worker ({exc.strerror})"))
                return False
            self._workers[slot] = fresh
            for sent in held:
                if sent.task.to_send():
                    fresh.send(sent.task, self._state)
                else:  # every file of it was blamed or known
                    sent.task.complete([], [])
        dead.release()
        return True

    def _blame(self, dead: _Worker, held: list[_Sent], code: int | None) -> bool:
        index = dead.current.value
        if code == RECYCLED or not held or not 0 <= index < len(held[0].indices):
            return False
        sent = held[0]
        original = sent.indices[index]
        path = sent.task.jobs[original][0]
        lst = sent.task.jobs[original][2]
        reason = (f"reading took longer than {self._hard_timeout:.0f} s; its process was "
                  "stopped" if dead.timed_out
                  else f"the reading process died ({_exit_reason(code)})")
        sent.task.known[original] = FileResult(
            path, Outcome.ERROR, size=lst.st_size if lst is not None else 0, reason=reason)
        return True

    def _fail(self, held: list[_Sent], error: WorkerError) -> None:
        self._failure = error
        self._closed = True
        for sent in held:
            sent.task.future.set_exception(error)
        for worker in self._workers:
            for other in worker.held:
                if not other.task.future.done():
                    other.task.future.set_exception(error)
            worker.kill()


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@contextlib.contextmanager
def executor(classifier: Classifier, jobs: int, *, processes: bool,
             state: SharedState | None = None,
             recycle_rss: int = RECYCLE_RSS) -> Iterator[Submit]:
    """Where a scan's batches are classified: ``jobs`` threads of this process, or
    ``jobs`` worker processes (``processes``). Either way a batch comes back as a future
    of its results in job order."""
    if not processes:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="dlpd-scan") as threads:
            def on_thread(batch: list[Job]) -> Future[Done]:
                return threads.submit(classify_batch, classifier, batch)
            yield on_thread
        return
    timeout = classifier.limits.scan_timeout
    hard = timeout + max(_MIN_GRACE, timeout / 4) if timeout > 0 else None
    workers = WorkerPool(classifier, jobs, state=state, hard_timeout=hard,
                         recycle_rss=recycle_rss)
    try:
        yield workers.submit
    finally:
        workers.close()
