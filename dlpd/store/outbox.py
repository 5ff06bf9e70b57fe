"""The outbox repository: due messages per sink, claims, delivery bookkeeping, backlogs.

Each host's daemon delivers its host's rows. A sender ``claim``s the due rows it is about
to send (a lease: ``claimed_by``, ``claim_until``), so that two senders for one host and
sink (two daemons, or a restart racing the old one) never send the same message; a
sender that dies mid-delivery leaves rows that become claimable when the lease runs
out, so none is lost (delivery stays at least once: receivers dedupe on ``msg_id``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select, update

from dlpd.model import OutboxMessage
from dlpd.store.schema import outbox


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest: float | None  # created time of the oldest undelivered message
    failing: int  # pending messages that failed at least once
    last_error: str | None


def _message(r: Row[Any]) -> OutboxMessage:
    return OutboxMessage(id=r.id, msg_id=r.msg_id, sink=r.sink, alert_id=r.alert_id,
                         kind=r.kind, created=r.created, body=r.body, attempts=r.attempts)


def due(conn: Connection, sink: str, now: float, limit: int = 100) -> list[OutboxMessage]:
    """Undelivered messages of ``sink`` (any host) whose next attempt is due, oldest first
    (for reading: a sender ``claim``s)."""
    stmt = (select(outbox).where(outbox.c.sink == sink, outbox.c.delivered.is_(None),
                                 outbox.c.next_attempt <= now)
            .order_by(outbox.c.id).limit(limit))
    return [_message(r) for r in conn.execute(stmt)]


def claim(conn: Connection, sink: str, *, host: str, by: str, now: float, lease: float,
          limit: int = 100) -> list[OutboxMessage]:
    """Claim up to ``limit`` due, undelivered messages of ``host`` and ``sink`` that no
    live lease holds, for ``by`` until ``now + lease``; oldest first.

    One statement: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``. On
    PostgreSQL a concurrent claimer skips the rows this one locked (and re-checks the
    lease on rows committed meanwhile); SQLite ignores FOR UPDATE, and its single writer
    makes the UPDATE wait for the other's commit, then see its claims."""
    pick = (select(outbox.c.id)
            .where(outbox.c.host == host, outbox.c.sink == sink,
                   outbox.c.delivered.is_(None), outbox.c.next_attempt <= now,
                   # ``by``'s own live claims too: a sender restarted in the same
                   # process (after a store outage) has nothing of them in flight.
                   or_(outbox.c.claim_until.is_(None), outbox.c.claim_until <= now,
                       outbox.c.claimed_by == by))
            .order_by(outbox.c.id).limit(limit)
            .with_for_update(skip_locked=True))
    stmt = (update(outbox).where(outbox.c.id.in_(pick.scalar_subquery()))
            .values(claimed_by=by, claim_until=now + lease)
            .returning(*outbox.c))
    return sorted((_message(r) for r in conn.execute(stmt)), key=lambda m: m.id)


def release(conn: Connection, message_ids: Sequence[int], by: str) -> None:
    """Give back claimed messages not attempted (a sender stopping, or backing off)."""
    if message_ids:
        conn.execute(update(outbox).where(outbox.c.id.in_(list(message_ids)),
                                          outbox.c.claimed_by == by)
                     .values(claimed_by=None, claim_until=None))


def holders(conn: Connection, sink: str, host: str) -> set[str]:
    """Who holds claims on ``host``'s undelivered messages for ``sink``."""
    return {str(h) for h in conn.execute(select(outbox.c.claimed_by).distinct().where(
        outbox.c.host == host, outbox.c.sink == sink, outbox.c.delivered.is_(None),
        outbox.c.claimed_by.is_not(None))).scalars()}


def release_held(conn: Connection, sink: str, host: str, by: Sequence[str]) -> int:
    """Give back every claim on ``host``'s messages for ``sink`` held by one of ``by``
    (senders known to be dead); how many."""
    if not by:
        return 0
    done = conn.execute(update(outbox).where(
        outbox.c.host == host, outbox.c.sink == sink, outbox.c.delivered.is_(None),
        outbox.c.claimed_by.in_(list(by))).values(claimed_by=None, claim_until=None))
    return int(done.rowcount or 0)


def next_attempt(conn: Connection, sink: str, host: str) -> float | None:
    """When the earliest undelivered message of ``host`` and ``sink`` is due, or its
    claim runs out (None: nothing pending)."""
    stmt = select(func.min(func.coalesce(outbox.c.claim_until, outbox.c.next_attempt))).where(
        outbox.c.host == host, outbox.c.sink == sink, outbox.c.delivered.is_(None))
    value = conn.execute(stmt).scalar()
    return None if value is None else float(value)


def mark_delivered(conn: Connection, message_id: int, now: float) -> None:
    conn.execute(update(outbox).where(outbox.c.id == message_id).values(
        delivered=now, attempts=outbox.c.attempts + 1, last_error=None,
        claimed_by=None, claim_until=None))


def mark_failed(conn: Connection, message_id: int, error: str, retry_at: float) -> None:
    conn.execute(update(outbox).where(outbox.c.id == message_id).values(
        attempts=outbox.c.attempts + 1, last_error=error[:500], next_attempt=retry_at,
        claimed_by=None, claim_until=None))


def backlogs(conn: Connection) -> dict[str, Backlog]:
    stmt = (select(outbox.c.sink, func.count(), func.min(outbox.c.created),
                   func.sum((outbox.c.attempts > 0).cast(outbox.c.attempts.type)),
                   func.max(outbox.c.last_error))
            .where(outbox.c.delivered.is_(None)).group_by(outbox.c.sink))
    return {sink: Backlog(int(n), oldest, int(failing or 0), err)
            for sink, n, oldest, failing, err in conn.execute(stmt)}
