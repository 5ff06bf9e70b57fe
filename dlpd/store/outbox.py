"""The outbox repository: due messages per sink, delivery bookkeeping, backlogs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from dlpd.model import OutboxMessage
from dlpd.store.schema import outbox


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest: float | None  # created time of the oldest undelivered message
    failing: int  # pending messages that failed at least once
    last_error: str | None


def due(conn: Connection, sink: str, now: float, limit: int = 100) -> list[OutboxMessage]:
    """Undelivered messages of ``sink`` whose next attempt is due, oldest first."""
    stmt = (select(outbox).where(outbox.c.sink == sink, outbox.c.delivered.is_(None),
                                 outbox.c.next_attempt <= now)
            .order_by(outbox.c.id).limit(limit))
    return [OutboxMessage(id=r.id, msg_id=r.msg_id, sink=r.sink, alert_id=r.alert_id,
                          kind=r.kind, created=r.created, body=r.body, attempts=r.attempts)
            for r in conn.execute(stmt)]


def next_attempt(conn: Connection, sink: str) -> float | None:
    """When the earliest undelivered message of ``sink`` is due (None: nothing pending)."""
    stmt = select(func.min(outbox.c.next_attempt)).where(
        outbox.c.sink == sink, outbox.c.delivered.is_(None))
    value = conn.execute(stmt).scalar()
    return None if value is None else float(value)


def mark_delivered(conn: Connection, message_id: int, now: float) -> None:
    conn.execute(update(outbox).where(outbox.c.id == message_id).values(
        delivered=now, attempts=outbox.c.attempts + 1, last_error=None))


def mark_failed(conn: Connection, message_id: int, error: str, retry_at: float) -> None:
    conn.execute(update(outbox).where(outbox.c.id == message_id).values(
        attempts=outbox.c.attempts + 1, last_error=error[:500], next_attempt=retry_at))


def backlogs(conn: Connection) -> dict[str, Backlog]:
    stmt = (select(outbox.c.sink, func.count(), func.min(outbox.c.created),
                   func.sum((outbox.c.attempts > 0).cast(outbox.c.attempts.type)),
                   func.max(outbox.c.last_error))
            .where(outbox.c.delivered.is_(None)).group_by(outbox.c.sink))
    return {sink: Backlog(int(n), oldest, int(failing or 0), err)
            for sink, n, oldest, failing, err in conn.execute(stmt)}
