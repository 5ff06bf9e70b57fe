"""A sender's back-off, on the caller's thread, with a fake wall clock, a seeded jitter,
a sink that fails until told otherwise, and the outbox in a real SQLite file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dlpd.daemon.senders import BACKOFF_BASE, SinkSender, retry_delay
from dlpd.errors import SinkError
from dlpd.model import Alert, AlertStatus, OutboxMessage, Severity
from dlpd.store import alerts as repo
from dlpd.store.db import open_engine, transaction


class FlakySink:
    name = "hook"

    def __init__(self) -> None:
        self.up = False
        self.attempts = 0
        self.delivered: list[str] = []

    def deliver(self, message: OutboxMessage) -> None:
        self.attempts += 1
        if not self.up:
            raise SinkError("connection refused (test)")
        self.delivered.append(message.msg_id)

    def close(self) -> None:
        pass


class WallClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seed", [1, 2])
def test_back_off_doubles_with_jitter_and_resets_on_delivery(tmp_path: Path,
                                                             seed: int) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/dlpd.db")
    clock = WallClock()
    with transaction(engine) as conn:
        repo.raise_alert(conn, Alert(
            id=0, created=clock.now, updated=clock.now, host="h", path="/srv/x", sha256="a" * 64,
            label="export", labels=("export",), categories=("itar",), rules=("itar",),
            severity=Severity.HIGH, reason="r", provenance=None, status=AlertStatus.OPEN),
            [repo.SinkRoute("hook")])
    sink = FlakySink()
    sender = SinkSender(sink, engine, host="h", clock=clock, rng=random.Random(seed))
    expected = random.Random(seed)

    start = clock.now
    first = sender.deliver_due()
    assert first == pytest.approx(retry_delay(0, expected))
    assert BACKOFF_BASE * 0.5 <= first <= BACKOFF_BASE
    assert (sink.attempts, sender.failures) == (1, 1)
    assert sender.status().last_error == "connection refused (test)"

    clock.now += first / 2
    assert sender.deliver_due() == pytest.approx(first / 2)  # not due: nothing sent
    assert sink.attempts == 1

    clock.now = start + first + 1e-3
    second = sender.deliver_due()
    assert second == pytest.approx(retry_delay(1, expected))
    assert 2 * BACKOFF_BASE * 0.5 <= second <= 2 * BACKOFF_BASE
    assert sink.attempts == 2

    sink.up = True
    clock.now += second + 1e-3
    sender.deliver_due()
    assert len(sink.delivered) == 1 and sender.status().delivered == 1
    assert sender.status().last_error is None
    clock.now += 3600
    sender.deliver_due()
    assert sink.attempts == 3  # delivered once, marked: never again
    engine.dispose()
