"""The alerts repository: raise, triage and query alerts, and queue their delivery.

Every change to an alert queues one outbox message per sink in the caller's transaction,
so an alert that is stored is also, eventually, delivered (the transactional outbox).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, text, update

from dlpd.model import (
    Alert,
    AlertDetails,
    AlertKind,
    AlertNote,
    AlertStatus,
    Severity,
    alert_event_body,
)
from dlpd.policy.suppress import suppressing
from dlpd.store import suppressions
from dlpd.store.db import upsert
from dlpd.store.paths import display_path, key, real, under
from dlpd.store.schema import ACTIVE_ALERT, alert_notes, alerts, false_positives, outbox

_LIVE = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)


@dataclass(frozen=True, slots=True)
class SinkRoute:
    """A sink that receives alerts of ``min_severity`` and above."""

    name: str
    min_severity: Severity = Severity.LOW


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    id: int
    path: str
    sha256: str
    label: str
    status: AlertStatus
    kind: AlertKind = AlertKind.LOCATION
    subject: str = ""


def _alert(row: Mapping[str, Any], notes: Sequence[AlertNote] = ()) -> Alert:
    return Alert(
        id=int(row["id"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
        host=str(row["host"]),
        path=real(row["path_key"]),
        sha256=str(row["sha256"]),
        label=str(row["label"]),
        labels=tuple(json.loads(str(row["labels"]))),
        categories=tuple(json.loads(str(row["categories"]))),
        rules=tuple(json.loads(str(row["rules"]))),
        severity=Severity.parse(str(row["severity"])),
        reason=str(row["reason"]),
        provenance=None if row["provenance"] is None else str(row["provenance"]),
        status=AlertStatus(str(row["status"])),
        notes=tuple(notes),
        details=(None if row.get("details") is None
                 else AlertDetails.from_json(json.loads(str(row["details"])))),
        kind=AlertKind(str(row.get("kind") or AlertKind.LOCATION.value)),
        subject=str(row.get("subject") or ""),
    )


def _notes(conn: Connection, alert_ids: Sequence[int]) -> dict[int, list[AlertNote]]:
    found: dict[int, list[AlertNote]] = {}
    if not alert_ids:
        return found
    rows = conn.execute(select(alert_notes).where(alert_notes.c.alert_id.in_(alert_ids))
                        .order_by(alert_notes.c.id)).mappings()
    for row in rows:
        found.setdefault(row["alert_id"], []).append(AlertNote(
            time=row["time"], author=row["author"], text=row["text"],
            status=AlertStatus(row["status"]) if row["status"] else None))
    return found


def enqueue(conn: Connection, alert: Alert, kind: str, sinks: Sequence[SinkRoute],
            now: float) -> int:
    """Queue ``alert`` as event ``kind`` for every sink that takes its severity, for its
    host's daemon to deliver (a triage in the console is sent by the sinks of the host
    the alert is on)."""
    body = alert_event_body(kind, alert, now)
    # Unique per event, the same on every retry: what receivers dedupe on.
    msg_id = f"msg_dlpd_{alert.id}_{kind.rsplit('.', 1)[-1]}_{int(now * 1000)}"
    rows = [{"host": alert.host, "msg_id": msg_id, "sink": s.name, "alert_id": alert.id,
             "kind": kind, "created": now, "body": body, "attempts": 0, "next_attempt": now}
            for s in sinks if alert.severity >= s.min_severity]
    if rows:
        conn.execute(insert(outbox), rows)
    return len(rows)


def raise_alert(conn: Connection, alert: Alert, sinks: Sequence[SinkRoute]) -> Alert | None:
    """Store ``alert`` (its id is ignored) as open and queue it. None when an active alert
    (open, acknowledged or false-positive) already covers the same (path, sha256, label),
    a standing false-positive decision covers its content and label (any path), or a
    suppression rule in force covers it (the rule's hits record it)."""
    if standing_false_positive(conn, alert.sha256, alert.label) is not None:
        return None
    rule = suppressing(suppressions.in_force(conn, alert.created), label=alert.label,
                       path=alert.path, fired=alert.rules, now=alert.created)
    if rule is not None:
        # An alert raised before the rule stays for a person; only a new one is a hit.
        if active_id(conn, alert.path, alert.sha256, alert.label, alert.kind,
                     alert.subject, host=alert.host) is None:
            suppressions.record_hit(conn, rule.id, path=alert.path, sha256=alert.sha256,
                                    label=alert.label, kind=alert.kind.value,
                                    now=alert.created)
        return None
    values = {
        "created": alert.created, "updated": alert.created, "host": alert.host,
        "path_key": key(alert.path), "path": display_path(alert.path),
        "sha256": alert.sha256, "label": alert.label,
        "labels": json.dumps(list(alert.labels)),
        "categories": json.dumps(list(alert.categories)),
        "rules": json.dumps(list(alert.rules)),
        "severity": str(alert.severity), "reason": alert.reason, "provenance": alert.provenance,
        "status": AlertStatus.OPEN.value,
        "details": json.dumps(alert.details.to_json()) if alert.details else None,
        "kind": alert.kind.value, "subject": alert.subject,
    }
    stmt = upsert(conn, alerts).values(values).on_conflict_do_nothing(
        index_elements=[alerts.c.host, alerts.c.path_key, alerts.c.sha256, alerts.c.label,
                        alerts.c.kind, alerts.c.subject],
        index_where=text(ACTIVE_ALERT),
    )
    new_id = conn.execute(stmt.returning(alerts.c.id)).scalar()
    if new_id is None:
        return None
    stored = replace(alert, id=int(new_id), updated=alert.created,
                     status=AlertStatus.OPEN, notes=())
    enqueue(conn, stored, "alert.created", sinks, alert.created)
    return stored


def active_id(conn: Connection, path: str, sha256: str, label: str,
              kind: AlertKind = AlertKind.LOCATION, subject: str = "", *,
              host: str) -> int | None:
    """The active alert that holds (host, path, sha256, label, kind, subject), if one
    does."""
    return conn.execute(select(alerts.c.id).where(
        alerts.c.host == host, alerts.c.path_key == key(path), alerts.c.sha256 == sha256,
        alerts.c.label == label, alerts.c.kind == kind.value, alerts.c.subject == subject,
        alerts.c.status != AlertStatus.RESOLVED.value)).scalar()


def set_status(conn: Connection, alert_id: int, status: AlertStatus, *, author: str,
               note: str, now: float, sinks: Sequence[SinkRoute],
               only_from: Sequence[AlertStatus] = ()) -> Alert | None:
    """Change an alert's status with a note saying who and why, and queue the update.
    None when there is no such alert, or its status is not one of ``only_from``."""
    current = get(conn, alert_id)
    if current is None or (only_from and current.status not in only_from):
        return None
    conn.execute(update(alerts).where(alerts.c.id == alert_id)
                 .values(status=status.value, updated=now))
    conn.execute(insert(alert_notes).values(alert_id=alert_id, time=now, author=author,
                                            text=note, status=status.value))
    alert = replace(current, status=status, updated=now,
                    notes=(*current.notes, AlertNote(now, author, note, status)))
    enqueue(conn, alert, "alert.updated", sinks, now)
    return alert


@dataclass(frozen=True, slots=True)
class FalsePositive:
    """A decision that content ``sha256`` with ``label`` is fine wherever it is."""

    id: int
    sha256: str
    label: str
    alert_id: int  # the alert it was taken on
    created: float
    author: str
    note: str
    lifted: float | None = None
    lifted_by: str | None = None


def standing_false_positive(conn: Connection, sha256: str, label: str) -> FalsePositive | None:
    """The decision that covers (sha256, label) now, if one does."""
    row = conn.execute(select(false_positives).where(
        false_positives.c.sha256 == sha256, false_positives.c.label == label,
        false_positives.c.lifted.is_(None))).mappings().first()
    return None if row is None else FalsePositive(**dict(row))


def decisions(conn: Connection, sha256: str, label: str) -> list[FalsePositive]:
    """Every false-positive decision on (sha256, label), standing or lifted, oldest first."""
    rows = conn.execute(select(false_positives).where(
        false_positives.c.sha256 == sha256, false_positives.c.label == label)
        .order_by(false_positives.c.id)).mappings()
    return [FalsePositive(**dict(r)) for r in rows]


def _same_content(conn: Connection, alert: Alert, statuses: Sequence[str]) -> list[int]:
    """Other alerts on ``alert``'s content and label (any path, any host) in ``statuses``."""
    return list(conn.execute(select(alerts.c.id).where(
        alerts.c.sha256 == alert.sha256, alerts.c.label == alert.label,
        alerts.c.id != alert.id, alerts.c.status.in_(list(statuses)))
        .order_by(alerts.c.id)).scalars())


def mark_false_positive(conn: Connection, alert_id: int, *, author: str, note: str,
                        now: float, sinks: Sequence[SinkRoute]) -> list[Alert] | None:
    """Alert ``alert_id``'s content is fine with its label, wherever it is: record the
    decision once (or join the standing one), mark the alert and every live alert on the
    same content and label false-positive, each with a note naming the decision, and
    queue each update. The changed alerts, this one first; None when there is no such
    alert."""
    current = get(conn, alert_id)
    if current is None:
        return None
    decision = standing_false_positive(conn, current.sha256, current.label)
    if decision is None:
        fp_id = int(conn.execute(insert(false_positives).values(
            sha256=current.sha256, label=current.label, alert_id=alert_id, created=now,
            author=author, note=note).returning(false_positives.c.id)).scalar_one())
        origin = alert_id
    else:
        fp_id, origin = decision.id, decision.alert_id
    scope = f"false positive #{fp_id}: this content with label {current.label}, anywhere"
    changed = [set_status(conn, alert_id, AlertStatus.FALSE_POSITIVE, author=author,
                          note=f"{note} ({scope})", now=now, sinks=sinks)]
    for other in _same_content(conn, current, _LIVE):
        changed.append(set_status(
            conn, other, AlertStatus.FALSE_POSITIVE, author=author, now=now, sinks=sinks,
            note=f"same content as alert {origin}, false positive #{fp_id}: {note}"))
    return [a for a in changed if a is not None]


def reopen(conn: Connection, alert_id: int, *, author: str, note: str, now: float,
           sinks: Sequence[SinkRoute]) -> list[Alert] | None:
    """Reopen alert ``alert_id``. If it was a false positive, the decision on its content
    and label is lifted and every other alert it had closed reopens too, noted. The
    changed alerts, this one first; None when there is no such alert."""
    current = get(conn, alert_id)
    if current is None:
        return None
    changed = [set_status(conn, alert_id, AlertStatus.OPEN, author=author, note=note,
                          now=now, sinks=sinks)]
    decision = standing_false_positive(conn, current.sha256, current.label)
    if current.status is AlertStatus.FALSE_POSITIVE and decision is not None:
        conn.execute(update(false_positives).where(false_positives.c.id == decision.id)
                     .values(lifted=now, lifted_by=author))
        for other in _same_content(conn, current, [AlertStatus.FALSE_POSITIVE.value]):
            changed.append(set_status(
                conn, other, AlertStatus.OPEN, author=author, now=now, sinks=sinks,
                note=f"reopened with alert {alert_id}, false positive #{decision.id} "
                     f"lifted: {note}"))
    return [a for a in changed if a is not None]


def get(conn: Connection, alert_id: int) -> Alert | None:
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    if row is None:
        return None
    return _alert(dict(row), _notes(conn, [alert_id]).get(alert_id, ()))


def query(conn: Connection, *, statuses: Sequence[str] = (), since: float | None = None,
          until: float | None = None, min_severity: Severity | None = None,
          path_prefix: str | None = None, labels: Sequence[str] = (),
          categories: Sequence[str] = (), sha256: str | None = None,
          hosts: Sequence[str] = (), limit: int | None = None) -> list[Alert]:
    """Alerts, oldest first. Each filter narrows; a repeated one (``labels``...) takes
    any of its values. ``sha256``: the hash, or a prefix of it."""
    stmt = select(alerts).order_by(alerts.c.id)
    if statuses:
        stmt = stmt.where(alerts.c.status.in_(list(statuses)))
    if since is not None:
        stmt = stmt.where(alerts.c.created >= since)
    if until is not None:
        stmt = stmt.where(alerts.c.created < until)
    if labels:
        stmt = stmt.where(alerts.c.label.in_(list(labels)))
    if categories:
        # Stored as a JSON list: look for the element in its quoted JSON form, so that a
        # category never matches inside another (a quote within one is escaped as \").
        stmt = stmt.where(or_(*(alerts.c.categories.contains(json.dumps(c), autoescape=True)
                                for c in categories)))
    if sha256:
        stmt = stmt.where(alerts.c.sha256 == sha256 if len(sha256) == 64
                          else alerts.c.sha256.startswith(sha256, autoescape=True))
    if hosts:
        stmt = stmt.where(alerts.c.host.in_(list(hosts)))
    if min_severity is not None:
        stmt = stmt.where(alerts.c.severity.in_([str(s) for s in Severity if s >= min_severity]))
    if path_prefix:
        stmt = stmt.where(under(alerts.c.path_key, path_prefix))
    if limit:
        stmt = stmt.order_by(None).order_by(alerts.c.id.desc()).limit(limit)
    rows = [dict(r) for r in conn.execute(stmt).mappings()]
    rows.sort(key=lambda r: int(r["id"]))
    notes = _notes(conn, [int(r["id"]) for r in rows])
    return [_alert(r, notes.get(int(r["id"]), ())) for r in rows]


def load_active(conn: Connection, host: str) -> list[ActiveAlert]:
    """``host``'s alerts that still hold their (path, sha256, label, kind, subject): open,
    acknowledged, false-positive (the daemon's index: its own host's paths only)."""
    stmt = select(alerts.c.id, alerts.c.path_key, alerts.c.sha256, alerts.c.label,
                  alerts.c.status, alerts.c.kind, alerts.c.subject).where(
        alerts.c.host == host, alerts.c.status != AlertStatus.RESOLVED.value)
    return [ActiveAlert(r.id, real(r.path_key), r.sha256, r.label, AlertStatus(r.status),
                        AlertKind(r.kind), r.subject)
            for r in conn.execute(stmt)]


def open_counts(conn: Connection) -> dict[str, int]:
    """Open alerts (not yet triaged) by severity."""
    stmt = (select(alerts.c.severity, func.count()).where(
        alerts.c.status == AlertStatus.OPEN.value).group_by(alerts.c.severity))
    return {sev: n for sev, n in conn.execute(stmt)}
