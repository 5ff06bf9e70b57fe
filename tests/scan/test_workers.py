"""Worker processes: the same results as threads, and a worker that dies, hangs or grows
costs one file (or nothing), never the scan.

Real forked workers, real classifier and rules, a real SQLite store; the faults are real
signals sent to the worker process that holds the file open (found through /proc).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dlpd.classify.classifier import Classifier
from dlpd.config import Settings, settings_from_mapping
from dlpd.labelling.resolve import PrintPlan
from dlpd.model import FileResult, Outcome
from dlpd.scan.pathfilter import PathFilter
from dlpd.scan.runner import ScanOptions, ScanSummary, run_scan
from dlpd.scan.workers import WorkerError, WorkerPool
from dlpd.store.db import EngineStore, open_engine
from dlpd.wiring import build_classifier, print_options

CARD = b"Customer card number: 4111 1111 1111 1111, expiry date 12/29.\n"
ITAR = (b"WARNING - This document contains technical data whose export is restricted by the\n"
        b"Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
        b"Traffic in Arms Regulations (ITAR), 22 CFR 120-130.\n")


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return build_classifier(Settings())


def _tree(root: Path, files: int = 120) -> None:
    for i in range(files):
        sub = root / f"d{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        body = CARD if i % 5 == 0 else ITAR if i % 5 == 1 else b"plain notes %d\n" % i
        (sub / f"f{i}.txt").write_bytes(body * (1 + i % 3))


def _big(path: Path, mib: int = 48) -> None:
    """A file that takes a worker a while: card numbers near keywords on every line."""
    line = b"card number 4111 1111 1111 1111 and 5500 0000 0000 0004 on file\n"
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(line * (1024 * 1024 // len(line)))


def _scan(root: Path, classifier: Classifier, tmp: Path, *, processes: bool, jobs: int = 2,
          worker_memory: int | None = None) -> tuple[ScanSummary, dict[str, FileResult]]:
    engine = open_engine(f"sqlite:///{tmp / ('p' if processes else 't')}.db")
    seen: dict[str, FileResult] = {}
    options = ScanOptions(jobs=jobs, use_cache=False, processes=processes)
    if worker_memory is not None:
        options = ScanOptions(jobs=jobs, use_cache=False, processes=True,
                              worker_memory=worker_memory)
    summary = run_scan([str(root)], classifier, EngineStore(engine), PathFilter([]), options,
                       lambda r: seen.__setitem__(r.path, r))
    engine.dispose()
    return summary, seen


def _essence(results: dict[str, FileResult]) -> dict[str, tuple[object, ...]]:
    return {p: (r.outcome, r.sha256, r.categories, tuple(d.count for d in r.detections))
            for p, r in results.items()}


def _workers() -> list[int]:
    """This process's children that are scan workers (named by prctl)."""
    found = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "dlpd-worker":
                        found.append(pid)
            except OSError:
                pass
    return found


def _holder(path: Path) -> int | None:
    """The worker that has ``path`` open right now."""
    for pid in _workers():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                    return pid
        except OSError:
            continue
    return None


@contextmanager
def _beside(step: Callable[[], bool]) -> Iterator[None]:
    """Run ``step`` again and again in a thread while the block runs, until it says done."""
    done = threading.Event()

    def loop() -> None:
        while not done.is_set() and not step():
            time.sleep(0.002)

    thread = threading.Thread(target=loop, name="test-beside", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _signal_holder(path: Path, signum: int) -> Callable[[], bool]:
    """A step that sends ``signum`` to the worker holding ``path`` open, once it does."""
    def step() -> bool:
        pid = _holder(path)
        if pid is not None:
            os.kill(pid, signum)
        return pid is not None

    return step


def test_processes_give_the_results_threads_give(tmp_path: Path, classifier: Classifier) -> None:
    _tree(tmp_path / "tree")
    threads_summary, by_threads = _scan(tmp_path / "tree", classifier, tmp_path, processes=False)
    summary, by_processes = _scan(tmp_path / "tree", classifier, tmp_path, processes=True)
    assert _essence(by_processes) == _essence(by_threads)
    assert summary.found == threads_summary.found == 48
    assert not _workers()  # every worker is gone when the scan returns


def test_a_worker_killed_mid_file_costs_that_file_only(tmp_path: Path,
                                                        classifier: Classifier) -> None:
    _tree(tmp_path / "tree")
    big = tmp_path / "tree" / "d3" / "big.txt"
    _big(big)
    with _beside(_signal_holder(big, signal.SIGKILL)):
        summary, seen = _scan(tmp_path / "tree", classifier, tmp_path, processes=True)
    assert seen[str(big)].outcome is Outcome.ERROR
    assert seen[str(big)].reason == "the reading process died (killed by SIGKILL)"
    others = {p: r for p, r in seen.items() if p != str(big)}
    assert len(others) == 120 and all(r.outcome is Outcome.OK for r in others.values())
    assert summary.found == 48  # every other file's findings, none lost with the worker


def test_a_worker_stuck_on_a_file_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    classifier = build_classifier(settings_from_mapping({"limits": {"scan_timeout": "1s"}}))
    _tree(tmp_path / "tree", files=20)
    big = tmp_path / "tree" / "d0" / "big.txt"
    _big(big)
    started = time.monotonic()
    # A stopped process makes no progress, as one looping inside a C parser would not.
    with _beside(_signal_holder(big, signal.SIGSTOP)):
        _summary, seen = _scan(tmp_path / "tree", classifier, tmp_path, processes=True)
    assert seen[str(big)].outcome is Outcome.ERROR
    assert seen[str(big)].reason == "reading took longer than 6 s; its process was stopped"
    assert sum(r.outcome is Outcome.OK for r in seen.values()) == 20
    assert time.monotonic() - started < 60


def test_workers_that_grow_are_replaced_and_lose_nothing(tmp_path: Path,
                                                         classifier: Classifier) -> None:
    _tree(tmp_path / "tree", files=300)
    _threads_summary, by_threads = _scan(tmp_path / "tree", classifier, tmp_path,
                                         processes=False)
    seen_pids: set[int] = set()

    def note_workers() -> bool:
        seen_pids.update(_workers())
        return False  # all the scan long

    # Any worker is past one byte: each leaves after its first batch.
    with _beside(note_workers):
        _summary, recycled = _scan(tmp_path / "tree", classifier, tmp_path, processes=True,
                                   worker_memory=1)
    assert _essence(recycled) == _essence(by_threads)
    assert len(seen_pids) > 2


def test_workers_follow_the_print_plan_the_parent_changes(tmp_path: Path) -> None:
    settings = settings_from_mapping({"labels": {"k17": {"severity": "high"}}})
    plan = PrintPlan()
    prints = print_options(settings, b"k" * 32, plan.active, plan.kinds)
    assert prints is not None
    classifier = build_classifier(settings, prints=prints)
    text = tmp_path / "spec.txt"
    text.write_bytes(b"The K17 actuator drawing set, revision C, with tolerances. " * 200)
    job = (str(text), str(tmp_path), os.lstat(text), 0)
    pool = WorkerPool(classifier, 1, state=plan)
    try:
        before = pool.submit([job]).result(timeout=30)
        plan.everything()  # what the resolver does when a label is set mid-scan
        after = pool.submit([job]).result(timeout=30)
    finally:
        pool.close()
    assert before[0][0][0].text_prints is None
    assert after[0][0][0].text_prints is not None


def test_workers_that_keep_dying_idle_fail_the_scan_clearly(classifier: Classifier) -> None:
    pool = WorkerPool(classifier, 1)
    try:
        for _ in range(3):
            deadline = time.monotonic() + 30
            while not (pids := _workers()) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(pids[0], signal.SIGKILL)
            while pids[0] in _workers() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # the reader sees the death and respawns (or gives up)
        with pytest.raises(WorkerError, match="keep exiting"):
            pool.submit([]).result(timeout=30)
    finally:
        pool.close()
