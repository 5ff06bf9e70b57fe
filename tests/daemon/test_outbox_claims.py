"""Outbox claims: senders racing on one store never send one message twice, every
message is sent, a dead sender's claims come back when their lease ends, and a host's
sender sends only its host's messages. A real SQLite file and the suite's own
PostgreSQL (tests/pg.py: where SKIP LOCKED does the work), real threads."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from dlpd.daemon.senders import SinkSender
from dlpd.model import Alert, AlertStatus, OutboxMessage, Severity
from dlpd.store import alerts as repo
from dlpd.store import db, outbox
from dlpd.store.db import Engine, open_engine, transaction
from tests.pg import pg_server, pg_url  # noqa: F401 - fixtures, found by name

ROUTES = [repo.SinkRoute("hook")]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return open_engine(f"sqlite:///{tmp_path}/dlpd.db")
    url: str = request.getfixturevalue("pg_url")
    bare = db.bare_engine(url)
    try:
        db.upgrade(bare)
    finally:
        bare.dispose()
    return open_engine(url)


def _raise(engine: Engine, n: int, host: str = "fs-a") -> None:
    with transaction(engine) as conn:
        for i in range(n):
            repo.raise_alert(conn, Alert(
                id=0, created=1.0, updated=1.0, host=host, path=f"/srv/{host}/{i}",
                sha256="a" * 64, label="export", labels=("export",), categories=("itar",),
                rules=("itar",), severity=Severity.HIGH, reason="r", provenance=None,
                status=AlertStatus.OPEN), ROUTES)


class CountingSink:
    name = "hook"

    def __init__(self, seen: list[str], lock: threading.Lock) -> None:
        self._seen, self._lock = seen, lock

    def deliver(self, message: OutboxMessage) -> None:
        with self._lock:
            self._seen.append(message.msg_id)

    def close(self) -> None:
        pass


def test_racing_senders_deliver_every_message_exactly_once(engine: Engine) -> None:
    _raise(engine, 300)
    seen: list[str] = []
    lock = threading.Lock()
    # Four daemons of one host (one sender each), as if in four processes.
    senders = [SinkSender(CountingSink(seen, lock), engine, host="fs-a", claimant=f"d{i}")
               for i in range(4)]
    start = threading.Barrier(len(senders))

    def run(sender: SinkSender) -> None:
        start.wait()
        sender.deliver_due()

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(seen) == 300 and len(set(seen)) == 300
    assert sum(s.delivered for s in senders) == 300
    with transaction(engine) as conn:
        assert outbox.due(conn, "hook", 1e12) == []


def test_two_claims_never_share_a_message(engine: Engine) -> None:
    _raise(engine, 10)
    with transaction(engine) as conn:
        first = outbox.claim(conn, "hook", host="fs-a", by="a", now=10.0, lease=60.0, limit=6)
        second = outbox.claim(conn, "hook", host="fs-a", by="b", now=10.0, lease=60.0,
                              limit=6)
    assert [m.id for m in first] == sorted(m.id for m in first) and len(first) == 6
    assert len(second) == 4 and not {m.id for m in first} & {m.id for m in second}


def test_an_expired_lease_is_claimed_again(engine: Engine) -> None:
    _raise(engine, 3)
    with transaction(engine) as conn:
        taken = outbox.claim(conn, "hook", host="fs-a", by="dead", now=10.0, lease=60.0)
        assert len(taken) == 3
        # The claimer died mid-delivery: nothing until the lease ends, then all of it.
        assert outbox.claim(conn, "hook", host="fs-a", by="b", now=69.0, lease=60.0) == []
        assert outbox.next_attempt(conn, "hook", "fs-a") == 70.0
        again = outbox.claim(conn, "hook", host="fs-a", by="b", now=70.0, lease=60.0)
    assert [m.id for m in again] == [m.id for m in taken]


def test_a_claimant_takes_back_its_own_live_claims_and_no_one_elses(engine: Engine) -> None:
    # A sender stopped by a store outage and started again in the same process holds
    # leases it is not using: it takes them back at once, others still wait.
    _raise(engine, 3)
    with transaction(engine) as conn:
        taken = outbox.claim(conn, "hook", host="fs-a", by="me", now=10.0, lease=120.0)
        assert outbox.claim(conn, "hook", host="fs-a", by="other", now=20.0,
                            lease=120.0) == []
        again = outbox.claim(conn, "hook", host="fs-a", by="me", now=20.0, lease=120.0)
    assert [m.id for m in again] == [m.id for m in taken] and len(taken) == 3


def test_delivery_and_failure_clear_the_claim(engine: Engine) -> None:
    _raise(engine, 2)
    with transaction(engine) as conn:
        a, b = outbox.claim(conn, "hook", host="fs-a", by="x", now=10.0, lease=60.0)
        outbox.mark_delivered(conn, a.id, 11.0)
        outbox.mark_failed(conn, b.id, "refused", retry_at=20.0)
        # b is due again at 20, not held by the lease until 70; a is done.
        (retry,) = outbox.claim(conn, "hook", host="fs-a", by="y", now=20.0, lease=60.0)
    assert retry.id == b.id and retry.attempts == 1


def test_a_sender_sends_only_its_hosts_messages(engine: Engine) -> None:
    _raise(engine, 2, host="fs-a")
    _raise(engine, 3, host="fs-b")
    seen: list[str] = []
    sender = SinkSender(CountingSink(seen, threading.Lock()), engine, host="fs-b")
    sender.deliver_due()
    assert sender.delivered == 3
    with transaction(engine) as conn:
        left = outbox.due(conn, "hook", 1e12)
    assert len(left) == 2 and all(f"_{m.alert_id}_" in m.msg_id for m in left)
    with transaction(engine) as conn:
        hosts = {repo.get(conn, m.alert_id).host for m in left}  # type: ignore[union-attr]
    assert hosts == {"fs-a"}


def test_a_starting_sender_takes_back_the_leases_of_a_dead_process_of_its_host(
        engine: Engine) -> None:
    """kill -9 of a daemon mid-delivery: its successor on this machine does not wait out
    the lease; a live process's claims (another daemon of the host) are left alone."""
    _raise(engine, 6)
    gone = subprocess.Popen(["true"])  # a pid that has exited
    gone.wait()
    machine = socket.gethostname()
    with transaction(engine) as conn:
        outbox.claim(conn, "hook", host="fs-a", by=f"fs-a {machine} pid {gone.pid} "
                     "dlpd-sink-hook", now=time.time(), lease=3600.0, limit=3)
        outbox.claim(conn, "hook", host="fs-a", by=f"fs-a {machine} pid {os.getppid()} "
                     "dlpd-sink-hook", now=time.time(), lease=3600.0, limit=3)
    seen: list[str] = []
    sender = SinkSender(CountingSink(seen, threading.Lock()), engine, host="fs-a")
    sender.start()
    try:
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert sender.stop(time.monotonic() + 10)
    assert len(seen) == 3, seen  # the dead one's three, not the live one's
    with transaction(engine) as conn:
        assert outbox.holders(conn, "hook", "fs-a") == {
            f"fs-a {machine} pid {os.getppid()} dlpd-sink-hook"}
