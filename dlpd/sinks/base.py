"""The contract every alert sink meets; the outbox sender threads drive it.

A sink sees only ``OutboxMessage`` values: the body built when the event was queued, its
id and kind. It has no access to the store, the classifier or matched content, so it can
send nothing the alert itself does not hold.
"""

from __future__ import annotations

from typing import Protocol

from dlpd.model import OutboxMessage


class Sink(Protocol):
    """Delivers alert events to one destination.

    ``deliver`` either returns (the receiver has the message) or raises
    ``dlpd.errors.SinkError`` with a short reason, and the sender retries later with the
    same message. It connects lazily and reconnects after failures, so no I/O happens at
    construction. A network sink never blocks longer than its configured timeout.
    ``close`` releases connections and descriptors; ``deliver`` may be called again after
    it (and reconnects).
    """

    name: str

    def deliver(self, message: OutboxMessage) -> None: ...

    def close(self) -> None: ...
