"""Suppression rules and what each one held back.

A rule (``policy/suppress.py``'s ``Suppression``, matched there) is never deleted: a
revoked or expired one stays, with what it suppressed, as the record of a decision. What
it held back is one ``suppression_hits`` row per alert it stopped (path, content,
label, kind), counted each time that alert would have been raised again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from dlpd.policy.suppress import Suppression, problems
from dlpd.store.db import upsert
from dlpd.store.paths import display_path, key, real
from dlpd.store.schema import suppression_hits, suppressions


@dataclass(frozen=True, slots=True)
class SuppressionHit:
    """An alert a rule stopped: first and last time, and how many times in all."""

    path: str  # the real path
    sha256: str
    label: str
    kind: str  # AlertKind value
    first: float
    last: float
    count: int


def _rule(r: RowMapping) -> Suppression:
    return Suppression(id=int(r["id"]), label=str(r["label"]), path_prefix=real(r["path_key"]),
                       rule=None if r["rule"] is None else str(r["rule"]),
                       owner=str(r["owner"]), reason=str(r["reason"]),
                       created=float(r["created"]), created_by=str(r["created_by"]),
                       expires=float(r["expires"]),
                       revoked=None if r["revoked"] is None else float(r["revoked"]),
                       revoked_by=None if r["revoked_by"] is None else str(r["revoked_by"]))


def add(conn: Connection, *, label: str, path_prefix: str, rule: str | None, owner: str,
        reason: str, created_by: str, now: float, expires: float) -> Suppression:
    """A new rule; ``ValueError`` naming every field that is wrong (policy/suppress.py's
    ``problems``: label, absolute prefix, owner, reason, an expiry ahead)."""
    wrong = problems(label=label, path_prefix=path_prefix, owner=owner, reason=reason,
                     expires=expires, now=now)
    if wrong:
        raise ValueError("; ".join(wrong))
    rule = rule or None  # "" from a form means any rule
    new_id = conn.execute(insert(suppressions).values(
        label=label, path_key=key(path_prefix), path=display_path(path_prefix), rule=rule,
        owner=owner, reason=reason, created=now, created_by=created_by, expires=expires,
        revoked=None, revoked_by=None).returning(suppressions.c.id)).scalar_one()
    return Suppression(id=int(new_id), label=label, path_prefix=path_prefix, rule=rule,
                       owner=owner, reason=reason, created=now, created_by=created_by,
                       expires=expires)


def revoke(conn: Connection, sid: int, *, by: str, now: float) -> bool:
    """End rule ``sid`` now; False when there is no such rule or it was revoked already
    (the first revocation stays the one recorded)."""
    found = conn.execute(update(suppressions).where(
        suppressions.c.id == sid, suppressions.c.revoked.is_(None))
        .values(revoked=now, revoked_by=by).returning(suppressions.c.id)).scalar()
    return found is not None


def get(conn: Connection, sid: int) -> Suppression | None:
    row = conn.execute(select(suppressions).where(suppressions.c.id == sid)).mappings().first()
    return None if row is None else _rule(row)


def in_force(conn: Connection, now: float) -> list[Suppression]:
    """Rules neither revoked nor expired at ``now``: an expired one drops out by time
    alone, with no job to remove it."""
    return [_rule(r) for r in conn.execute(select(suppressions).where(
        suppressions.c.revoked.is_(None), suppressions.c.expires > now)
        .order_by(suppressions.c.id)).mappings()]


def list_all(conn: Connection) -> list[tuple[Suppression, int, float | None]]:
    """Every rule, newest first, with how many alerts it stopped (distinct path, content,
    label and kind) and when it last stopped one."""
    stopped = (select(suppression_hits.c.suppression_id, func.count().label("alerts"),
                      func.max(suppression_hits.c.last).label("last_hit"))
               .group_by(suppression_hits.c.suppression_id).subquery())
    rows = conn.execute(
        select(suppressions, stopped.c.alerts, stopped.c.last_hit)
        .outerjoin(stopped, stopped.c.suppression_id == suppressions.c.id)
        .order_by(suppressions.c.id.desc())).mappings()
    return [(_rule(r), int(r["alerts"] or 0),
             None if r["last_hit"] is None else float(r["last_hit"])) for r in rows]


def record_hit(conn: Connection, sid: int, *, path: str, sha256: str, label: str, kind: str,
               now: float) -> None:
    """Rule ``sid`` stopped the alert (path, sha256, label, kind) at ``now``."""
    stmt = upsert(conn, suppression_hits).values(
        suppression_id=sid, path_key=key(path), path=display_path(path), sha256=sha256,
        label=label, kind=kind, first=now, last=now, count=1)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[suppression_hits.c.suppression_id, suppression_hits.c.path_key,
                        suppression_hits.c.sha256, suppression_hits.c.label,
                        suppression_hits.c.kind],
        set_={"last": func.max(suppression_hits.c.last, stmt.excluded.last)
              if conn.dialect.name == "sqlite"
              else func.greatest(suppression_hits.c.last, stmt.excluded.last),
              "count": suppression_hits.c.count + 1}))


def hits(conn: Connection, sid: int, limit: int = 100) -> list[SuppressionHit]:
    """What rule ``sid`` stopped, most recent first."""
    rows = conn.execute(select(suppression_hits).where(suppression_hits.c.suppression_id == sid)
                        .order_by(suppression_hits.c.last.desc(), suppression_hits.c.id.desc())
                        .limit(limit)).mappings()
    return [SuppressionHit(path=real(r["path_key"]), sha256=str(r["sha256"]),
                           label=str(r["label"]), kind=str(r["kind"]), first=float(r["first"]),
                           last=float(r["last"]), count=int(r["count"])) for r in rows]
