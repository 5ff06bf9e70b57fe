"""The store as the daemon's main loop sees it: up, or unreachable since when.

A PostgreSQL that does not answer is one outage, not a stream of errors: its first
failure is logged once ("store unreachable", with the error), later ones are counted
(with a reminder every ``REMIND_EVERY``, saying how long), the probes back off (1 s
doubling to 30 s, each scaled by 0.5-1.0 so that twenty daemons do not reconnect in
step), and the first success is logged ("store back", with how long it was away).
What follows an outage (reloading the store's view, one full reconciliation) is the
main loop's.

Main thread only; the clocks are arguments.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

import structlog

from dlpd.config import Settings, database_url
from dlpd.daemon.status import Unreachable
from dlpd.errors import StoreError
from dlpd.store.db import Engine, SchemaNotCurrent, open_store, open_unchecked, transaction

_log = structlog.get_logger("dlpd.daemon")

PROBE_FIRST = 1.0
PROBE_MAX = 30.0
REMIND_EVERY = 600.0
_ERROR_CHARS = 300  # an error is one line of the status; the driver's can run to pages


class StoreHealth:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self._clock = clock
        self._wall = wall
        # Jitter, not secrecy: a seeded PRNG is right here.
        self._rng = rng or random.Random()  # noqa: S311
        self.down: Unreachable | None = None
        self._down_at = 0.0  # clock() of the first failure
        self._reminded = 0.0
        self._wait = 0.0
        self._next_probe = 0.0

    def failed(self, error: str) -> bool:
        """The store did not answer; True when this begins an outage."""
        now = self._clock()
        text = one_line(error)
        self._wait = min(PROBE_MAX, max(PROBE_FIRST, 2 * self._wait))
        self._next_probe = now + self._wait * self._rng.uniform(0.5, 1.0)
        if self.down is None:
            self.down = Unreachable(self._wall(), 0, text)
            self._down_at = self._reminded = now
            _log.error("store unreachable", error=text,
                       meanwhile="watching on; retrying with back-off")
            return True
        self.down = replace(self.down, retries=self.down.retries + 1, error=text)
        if now - self._reminded >= REMIND_EVERY:
            self._reminded = now
            _log.error("store still unreachable", seconds=round(now - self._down_at),
                       retries=self.down.retries, error=text)
        return False

    def succeeded(self) -> float | None:
        """The store answered; the outage's length in seconds when one ends here."""
        self._wait = 0.0
        if self.down is None:
            return None
        seconds = self._clock() - self._down_at
        _log.info("store back", seconds=round(seconds, 1), retries=self.down.retries)
        self.down = None
        return seconds

    def is_probe_due(self) -> bool:
        """While down: whether the back-off has passed (always, while up)."""
        return self.down is None or self._clock() >= self._next_probe


def probe(engine: Engine) -> None:
    """One round trip to the store (StoreError when it does not answer). A query, not an
    empty transaction: a pooled connection to a server that went away is only found
    dead by using it."""
    with transaction(engine) as conn:
        conn.exec_driver_sql("SELECT 1")


def one_line(error: str) -> str:
    """A driver's message (often several lines, with hints) as one bounded line."""
    text = " ".join(error.split())
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS - 3] + "..."


def open_or_later(settings: Settings) -> tuple[Engine, StoreError | None]:
    """The store, checked; or, for a server database that does not answer at start, an
    engine that connects when it can and why it could not (the daemon starts, and says
    so). A SQLite file that cannot be opened is this host's own problem, and a schema
    that is not this dlpd's needs an operator: both stay errors."""
    try:
        return open_store(settings), None
    except SchemaNotCurrent:
        raise
    except StoreError as exc:
        if database_url(settings).startswith("sqlite"):
            raise
        return open_unchecked(settings), exc


def check_schema(settings: Settings) -> None:
    """What ``open_store`` checks at a start with the store (its schema at this dlpd's
    revision, or migrated there as ``[database] migrate`` says), on an engine used once;
    StoreError (SchemaNotCurrent) when it is not."""
    open_store(settings).dispose()
