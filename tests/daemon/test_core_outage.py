"""A store outage as the main loop tracks it: one log line when it begins, counted
retries (a reminder every ten minutes), probes backing off 1 s doubling to 30 s with
jitter, one line when it ends; and the probe itself against a real SQLite store."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from dlpd.daemon.outage import PROBE_MAX, StoreHealth, one_line, probe
from dlpd.errors import StoreError
from dlpd.store.db import open_engine


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _events(logs: list[dict[str, object]]) -> list[object]:
    return [e["event"] for e in logs]


def test_one_outage_is_one_line_then_counted_then_one_line_back() -> None:
    clock = _Clock()
    health = StoreHealth(clock=clock, wall=lambda: 0.0, rng=random.Random(1))
    with capture_logs() as logs:
        assert health.succeeded() is None  # up, and nothing to say
        assert health.failed("database: OperationalError: refused\n\tIs it running?")
        waits = []
        for _ in range(40):  # a quarter of an hour of failing probes or so
            assert not health.is_probe_due()
            before = clock.now
            while not health.is_probe_due():
                clock.now += 0.05
            waits.append(clock.now - before)
            assert not health.failed("database: OperationalError: refused")
        down = health.down
        assert down is not None and down.retries == 40
        assert down.line().startswith("store unreachable since ")
        assert "(40 retries): database: OperationalError: refused" in down.line()
        seconds = health.succeeded()
    assert seconds is not None and seconds == pytest.approx(clock.now - 1000.0)
    assert health.down is None and health.is_probe_due()
    # once, a reminder after ten minutes, once back
    assert _events(logs) == ["store unreachable", "store still unreachable", "store back"]
    assert logs[0]["error"] == "database: OperationalError: refused Is it running?"
    # 1 s doubling to 30 s, each scaled by 0.5-1.0
    assert 0.5 <= waits[0] <= 1.05 and waits[1] <= 2.05
    assert all(w <= PROBE_MAX + 0.05 for w in waits)
    assert max(waits) > PROBE_MAX / 2 and len({round(w, 1) for w in waits[-10:]}) > 1


def test_a_new_outage_starts_over() -> None:
    clock = _Clock()
    health = StoreHealth(clock=clock, rng=random.Random(2))
    with capture_logs() as logs:
        for _ in range(6):
            health.failed("refused")
        health.succeeded()
        assert health.failed("refused again")  # a new outage: said again
        clock.now += 1.01  # the back-off starts at 1 s again, not at 30
        assert health.is_probe_due()
    assert _events(logs) == ["store unreachable", "store back", "store unreachable"]


def test_an_error_is_one_bounded_line() -> None:
    assert one_line("a\n\tb  c") == "a b c"
    long = one_line("x" * 5000)
    assert len(long) == 300 and long.endswith("...")


def test_probe_answers_on_a_store_and_fails_on_one_gone(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'd' / 'dlpd.db'}")
    probe(engine)
    engine.dispose()  # no pooled connection keeps the file open
    shutil.rmtree(tmp_path / "d")  # SQLite cannot create a file in a directory gone
    with pytest.raises(StoreError, match="unable to open database file"):
        probe(engine)
