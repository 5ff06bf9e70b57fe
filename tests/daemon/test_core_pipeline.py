"""The pipeline in process: a fake clock, a real SQLite file, the real classifier and
rules. Events are put on the inbox as the watch backend would; time moves only when the
test moves it, so settling, back-off and retries are deterministic."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlpd.config import load_settings
from dlpd.daemon.commit import RETRY_FIRST
from dlpd.daemon.pipeline import Pipeline
from dlpd.daemon.runtime import Runtime, build_runtime
from dlpd.daemon.scheduling import Scheduler
from dlpd.store.db import Engine
from dlpd.watch.events import EventKind, FsEvent
from dlpd.wiring import build_engine

from .harness import config_text, sensitive_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Core:
    """A pipeline over ``watched`` (nothing approved), stepped by the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.watched = tmp_path / "watched"
        self.watched.mkdir()
        state = tmp_path / "state"
        state.mkdir()
        cfg = tmp_path / "dlpd.toml"
        cfg.write_text(config_text(state, watch=[self.watched],
                                   approved=[tmp_path / "vault"]))
        settings = load_settings(cfg)
        self.runtime: Runtime = build_runtime(settings, str(state / "run"))
        self.engine: Engine = build_engine(settings)
        self.db = state / "dlpd.db"
        self.clock = FakeClock()
        self.writes = 0
        self.pipe = Pipeline(self.runtime, self.engine, self._wrote, clock=self.clock)
        self.pipe.load()

    def _wrote(self) -> None:
        self.writes += 1

    def written(self, name: str, n: int = 0) -> Path:
        path = self.watched / name
        path.write_text(sensitive_text(n))
        self.pipe.put(FsEvent(EventKind.CLOSED_WRITE, str(path), time=self.clock.now))
        return path

    def scan_round(self) -> None:
        """Let what settled go to the pool, and write what comes back."""
        self.clock.advance(1.0)
        self.pipe.step(0)  # settle -> the pool
        deadline = time.monotonic() + 30
        while self.pipe.stats(self.clock.now).in_flight and time.monotonic() < deadline:
            self.pipe.step(0.2)  # results -> one transaction

    def alerts(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute("SELECT path, status FROM alerts ORDER BY id"))

    def fail_alert_writes(self, fail: bool) -> None:
        """A real store failure, from inside SQLite: every alert insert aborts."""
        with sqlite3.connect(self.db) as conn:
            if fail:
                conn.execute("CREATE TRIGGER fail BEFORE INSERT ON alerts "
                             "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END")
            else:
                conn.execute("DROP TRIGGER fail")

    def close(self) -> None:
        assert self.pipe.stop(time.monotonic() + 10) == []
        self.engine.dispose()


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Core]:
    c = Core(tmp_path)
    try:
        yield c
    finally:
        c.close()


def test_a_written_file_is_read_once_it_settles_and_alerted(core: Core) -> None:
    path = core.written("design.txt")
    core.pipe.step(0)
    stats = core.pipe.stats(core.clock.now)
    assert (stats.events, stats.queue_depth, stats.in_flight) == (1, 1, 0)  # settling
    core.pipe.step(0)
    assert core.pipe.stats(core.clock.now).in_flight == 0  # the clock has not moved
    core.scan_round()
    stats = core.pipe.stats(core.clock.now)
    assert (stats.scanned, stats.queue_depth, stats.alerts_raised) == (1, 0, 1)
    assert core.alerts() == [(str(path), "open")]
    assert core.writes == 1


def test_a_deleted_file_is_forgotten_and_its_alert_resolves(core: Core) -> None:
    path = core.written("design.txt")
    core.pipe.step(0)
    core.scan_round()
    path.unlink()
    core.pipe.put(FsEvent(EventKind.DELETED, str(path), time=core.clock.now))
    core.pipe.step(0)
    assert core.alerts() == [(str(path), "resolved")]
    assert core.pipe.stats(core.clock.now).alerts_resolved == 1


def test_a_failed_write_changes_nothing_and_is_retried_after_a_growing_back_off(
        core: Core) -> None:
    core.fail_alert_writes(True)
    path = core.written("design.txt")
    core.pipe.step(0)
    core.scan_round()  # read, decided, write fails: rolled back
    stats = core.pipe.stats(core.clock.now)
    assert core.alerts() == [] and stats.alerts_raised == 0 and core.writes == 0
    assert stats.queue_depth == 0  # waiting for the back-off, not queued

    core.clock.advance(RETRY_FIRST)
    core.pipe.step(0)  # the back-off passed: the file settles again
    assert core.pipe.stats(core.clock.now).queue_depth == 1
    core.scan_round()  # and fails again: the back-off doubles
    assert core.alerts() == []

    core.fail_alert_writes(False)
    core.clock.advance(RETRY_FIRST)
    core.pipe.step(0)
    assert core.pipe.stats(core.clock.now).queue_depth == 0  # 1 s of the 2 s back-off
    core.clock.advance(RETRY_FIRST)
    core.pipe.step(0)
    assert core.pipe.stats(core.clock.now).queue_depth == 1
    core.scan_round()
    assert core.alerts() == [(str(path), "open")]
    assert core.pipe.stats(core.clock.now).alerts_raised == 1  # counted once, committed


def test_scheduler_reads_a_path_once_at_a_time(core: Core) -> None:
    """A file written again while it is read waits for that read, then is read again."""
    done: list[object] = []
    sched = Scheduler(1, 0.02, 5.0, done.append)
    path = str(core.written("design.txt"))
    rt = core.runtime
    try:
        now = 10.0
        sched.add(path, "modified", now)
        assert sched.dispatch(now, rt.classifier, rt.roots, rt.jobs) == []  # settling
        now += 1
        assert sched.dispatch(now, rt.classifier, rt.roots, rt.jobs) == [path]
        sched.add(path, "modified", now)
        now += 1
        assert sched.dispatch(now, rt.classifier, rt.roots, rt.jobs) == []  # held
        assert sched.queue_depth() == 2  # one held, one being read
        deadline = time.monotonic() + 30
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
        results = sched.collect(done.pop())  # type: ignore[arg-type]
        assert results is not None and [p.path for p, _r in results] == [path]
        assert sched.is_final(results[0][1], now)
        assert sched.dispatch(now, rt.classifier, rt.roots, rt.jobs) == [path]
    finally:
        assert sched.stop(time.monotonic() + 10)
