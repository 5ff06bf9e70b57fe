"""One delivery thread per sink, draining the outbox with back-off and jitter.

A slow or failing sink holds up only its own thread. Messages stay in the outbox until a
delivery succeeds, so a receiver outage or a daemon restart loses nothing (at least once;
receivers dedupe on ``webhook-id`` / the message id). A sender delivers its host's
messages only, and claims each batch before sending it (``outbox.claim``): two daemons
of one host, or a restart racing the old process, never send one message twice at once.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable

import structlog

from dlpd.daemon.lifecycle import remaining
from dlpd.daemon.status import SinkStatus
from dlpd.errors import DlpdError, SinkError
from dlpd.model import OutboxMessage
from dlpd.sinks.base import Sink
from dlpd.store import outbox
from dlpd.store.db import Engine, transaction

_log = structlog.get_logger("dlpd.sinks")

BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
_IDLE_POLL = 5.0
# A claim's lease and size: a batch must be sent within the lease, or another sender may
# take it (a daemon killed mid-delivery: its batch is sent again once the lease ends).
CLAIM_LEASE = 120.0
CLAIM_BATCH = 20


def retry_delay(attempts: int, rng: random.Random) -> float:
    """Exponential back-off with jitter: ~1, 2, 4 ... 60 s, each scaled by 0.5-1.0 so that
    many daemons recovering together do not hit a receiver in step."""
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempts, 16)) * rng.uniform(0.5, 1.0))


class SinkSender:
    def __init__(self, sink: Sink, engine: Engine, *, host: str,
                 clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, claimant: str | None = None) -> None:
        self.sink = sink
        self._engine = engine
        self._clock = clock  # wall time: the outbox's due times are wall times
        self._wake = threading.Event()
        self._stop = threading.Event()
        # Jitter, not secrecy: a seeded PRNG is right here.
        self._rng = rng or random.Random()  # noqa: S311
        self.name = f"dlpd-sink-{sink.name}"
        self._host = host
        # Who holds a claim: host, machine, process, sink (one sender per sink per
        # daemon). The same after a sender is replaced in this process (a store outage),
        # so that the new one takes back the old one's leases at once; and a sender that
        # starts gives back those of a dead process of its host on this machine (kill -9)
        # instead of waiting CLAIM_LEASE. ``claimant`` tells senders of one process apart
        # where several stand for several daemons (tests).
        self._stale_prefix = f"{host} {socket.gethostname()} pid "
        self._by = claimant or f"{self._stale_prefix}{os.getpid()} {self.name}"
        self._thread = threading.Thread(target=self._run, name=self.name)
        self.delivered = 0
        self.failures = 0
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def status(self) -> SinkStatus:
        return SinkStatus(self.delivered, self.failures, self.last_error)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, deadline: float) -> bool:
        """Ask the thread to finish; True when it did by ``deadline``. A delivery in
        progress is not interrupted: left unmarked, it is sent again later."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(remaining(deadline))
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._release_stale()
            self._loop()
        finally:
            self.sink.close()  # here, so that it never closes under a delivery

    def _release_stale(self) -> None:
        """Claims left by this sink's sender in a process of this host and machine that
        is gone (or is this one, before this sender) are given back now."""
        suffix = f" {self.name}"
        try:
            with transaction(self._engine) as conn:
                held = outbox.holders(conn, self.sink.name, self._host)
                stale = [h for h in held if h.startswith(self._stale_prefix)
                         and h.endswith(suffix) and h != self._by
                         and _is_gone(h[len(self._stale_prefix):-len(suffix)])]
                if freed := outbox.release_held(conn, self.sink.name, self._host, stale):
                    _log.info("claims of a stopped sender given back", sink=self.sink.name,
                              messages=freed, holders=stale)
        except DlpdError as exc:  # the store is down: the leases end by themselves
            _log.warning("outbox unavailable", sink=self.sink.name, error=str(exc))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.deliver_due()
            except DlpdError as exc:  # the store is busy or failing: try again soon
                _log.warning("outbox unavailable", sink=self.sink.name, error=str(exc))
                wait = _IDLE_POLL
            except Exception:  # a sender outlives a bug in one delivery
                _log.exception("sender failed unexpectedly", sink=self.sink.name)
                wait = _IDLE_POLL
            self._wake.wait(wait)
            self._wake.clear()

    def deliver_due(self) -> float:
        """Deliver every due message; return how long to sleep before looking again (the
        thread's one pass; called directly, it delivers on the caller's thread)."""
        while not self._stop.is_set():
            now = self._clock()
            with transaction(self._engine) as conn:
                batch = outbox.claim(conn, self.sink.name, host=self._host, by=self._by,
                                     now=now, lease=CLAIM_LEASE, limit=CLAIM_BATCH)
            if not batch:
                break
            for n, message in enumerate(batch):
                if self._stop.is_set():
                    self._release(batch[n:])
                    return 0.0
                try:
                    self.sink.deliver(message)
                except SinkError as exc:
                    self.failures += 1
                    self.last_error = str(exc)
                    retry_at = self._clock() + retry_delay(message.attempts, self._rng)
                    with transaction(self._engine) as conn:
                        outbox.mark_failed(conn, message.id, str(exc), retry_at)
                    _log.warning("delivery failed", sink=self.sink.name,
                                 alert_id=message.alert_id, msg_id=message.msg_id,
                                 attempt=message.attempts + 1, error=str(exc),
                                 retry_in=round(retry_at - self._clock(), 1))
                    # The receiver is likely down: back off the whole sink, not just
                    # this message (the rest of the batch is given back).
                    self._release(batch[n + 1:])
                    return max(0.05, retry_at - self._clock())
                with transaction(self._engine) as conn:
                    outbox.mark_delivered(conn, message.id, self._clock())
                self.delivered += 1
                self.last_error = None
        with transaction(self._engine) as conn:
            upcoming = outbox.next_attempt(conn, self.sink.name, self._host)
        if upcoming is None:
            return _IDLE_POLL
        return min(_IDLE_POLL, max(0.05, upcoming - self._clock()))

    def _release(self, rest: list[OutboxMessage]) -> None:
        with transaction(self._engine) as conn:
            outbox.release(conn, [m.id for m in rest], self._by)


def _is_gone(pid_text: str) -> bool:
    """Whether the process ``pid_text`` names (on this machine) is gone, or is this one
    (whose earlier sender is not running: a sender starts once)."""
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
