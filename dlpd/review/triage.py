"""Triage: acknowledge, resolve, mark false-positive or reopen alerts, each change with a
reason, a note in the alert's history, an update queued for the sinks and a row in the
audit chain. The CLI (`dlpd alerts ack ...`) and the console call the same functions, so
a decision reads the same whichever way it was taken.

Closing an alert (resolve, false-positive) needs a reason: an alert closed without one
cannot be reviewed later, and reviewers of DLP tools ask for exactly this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from dlpd.errors import DlpdError
from dlpd.model import Alert, AlertStatus
from dlpd.store import alert_pages, audit
from dlpd.store import alerts as repo
from dlpd.store.alert_pages import AlertFilter
from dlpd.store.db import Connection, Engine, transaction

# Alerts changed per transaction by a bulk action: a long one would hold the store's
# write lock against the daemon for its whole length.
BULK_CHUNK = 500


class Action(StrEnum):
    ACK = "ack"
    RESOLVE = "resolve"
    FALSE_POSITIVE = "false-positive"
    REOPEN = "reopen"

    @property
    def status(self) -> AlertStatus:
        return _STATUS[self]

    @property
    def needs_reason(self) -> bool:
        return self in (Action.RESOLVE, Action.FALSE_POSITIVE)


_STATUS = {Action.ACK: AlertStatus.ACKNOWLEDGED, Action.RESOLVE: AlertStatus.RESOLVED,
           Action.FALSE_POSITIVE: AlertStatus.FALSE_POSITIVE, Action.REOPEN: AlertStatus.OPEN}


class ReasonRequired(DlpdError):
    """Closing an alert without saying why."""


@dataclass(frozen=True, slots=True)
class TriageOutcome:
    # Every alert changed, the named ones and those a decision carried with them (a
    # false positive closes every live alert on the same content and label).
    changed: tuple[Alert, ...]
    # Named alerts that do not exist.
    missing: tuple[int, ...]
    # Alerts changed because of a named one (id -> the named alert's id).
    carried_by: Mapping[int, int] = field(default_factory=dict)


def check_reason(action: Action, reason: str) -> str:
    """The reason, stripped; ReasonRequired when the action needs one and it is blank."""
    reason = reason.strip()
    if action.needs_reason and not reason:
        raise ReasonRequired(f"{action.value}: a reason is required to close an alert")
    return reason


def apply(conn: Connection, action: Action, alert_ids: Iterable[int], *, author: str,
          reason: str, now: float, sinks: Sequence[repo.SinkRoute],
          via: str = "console") -> TriageOutcome:
    """Take ``action`` on each alert in the caller's transaction. ``author`` is the name
    in the alerts' history and the audit chain; ``via`` says where it came from."""
    reason = check_reason(action, reason)
    changed: list[Alert] = []
    missing: list[int] = []
    carried_by: dict[int, int] = {}
    for alert_id in alert_ids:
        done = _change(conn, action, alert_id, author=author,
                       note=reason or action.status.value, now=now, sinks=sinks)
        if done is None:
            missing.append(alert_id)
            continue
        for alert in done:
            audit.append(conn, actor=author, action=action.value, target=f"alert:{alert.id}",
                         reason=reason, now=now,
                         details={"via": via, "status": alert.status.value,
                                  **({} if alert.id == alert_id else {"with": alert_id})})
            if alert.id != alert_id:
                carried_by[alert.id] = alert_id
        changed += done
    return TriageOutcome(tuple(changed), tuple(missing), carried_by)


def apply_matching(engine: Engine, action: Action, wanted: AlertFilter, *,
                   exclude: frozenset[int], author: str, reason: str, now: float,
                   sinks: Sequence[repo.SinkRoute], via: str = "console") -> int:
    """Take ``action`` on every alert matching ``wanted`` but those in ``exclude``, not
    only those a page showed ("all 250 matching"), in transactions of BULK_CHUNK alerts.
    ``wanted.max_id`` bounds it to the alerts that existed when the person chose (an
    alert raised since is not decided unseen). Returns how many alerts changed."""
    check_reason(action, reason)
    with transaction(engine) as conn:
        ids = [i for chunk in alert_pages.matching_ids(conn, wanted, exclude=exclude)
               for i in chunk]
    changed: set[int] = set()
    for start in range(0, len(ids), BULK_CHUNK):
        with transaction(engine) as conn:
            outcome = apply(conn, action, ids[start:start + BULK_CHUNK], author=author,
                            reason=reason, now=now, sinks=sinks, via=via)
        changed.update(a.id for a in outcome.changed)
    return len(changed)


def _change(conn: Connection, action: Action, alert_id: int, *, author: str, note: str,
            now: float, sinks: Sequence[repo.SinkRoute]) -> list[Alert] | None:
    """The alerts one action changed, the named one first; None when it does not exist."""
    if action is Action.FALSE_POSITIVE:
        return repo.mark_false_positive(conn, alert_id, author=author, note=note, now=now,
                                        sinks=sinks)
    if action is Action.REOPEN:
        return repo.reopen(conn, alert_id, author=author, note=note, now=now, sinks=sinks)
    done = repo.set_status(conn, alert_id, action.status, author=author, note=note, now=now,
                           sinks=sinks)
    return None if done is None else [done]
