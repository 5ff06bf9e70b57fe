"""Turn scan results and file events into alerts: raise, supersede, auto-resolve.

Three kinds (``AlertKind``): a labelled file outside its approved places (``location``)
and a labelled file readable by someone outside its readers (``exposed``) are states,
resolved by themselves when they stop being true or the file goes; an open by someone
outside the readers (``unauthorized-access``) is an event, one per user, file and day,
closed only by a person.

Runs on the daemon's main thread only, inside the caller's transaction. The in-memory
index of active alerts spares the store a query per unchanged file during a crawl; the
store's unique index stays the authority on "one active alert per (path, sha256, label,
kind, subject)".
Paths are real paths (``os.fsdecode`` of the name's bytes); ``display_path`` is only for
log lines and notes.
"""

from __future__ import annotations

import grp
import pwd
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from dlpd.model import (
    Actor,
    Alert,
    AlertDetails,
    AlertKind,
    AlertStatus,
    Detection,
    FileResult,
    Origin,
    Severity,
    display_path,
)
from dlpd.policy.decide import LabelPolicy, approved_for, is_under, violations
from dlpd.store import alerts as repo
from dlpd.store import files as files_repo
from dlpd.store.db import Connection

_log = structlog.get_logger("dlpd.alerts")

AUTHOR = "dlpd"
_LIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)

# States a file's own change or departure resolves; an event alert stays for a person.
_STATES = (AlertKind.LOCATION, AlertKind.EXPOSED)

# (sha256, label, kind, subject) -> (alert id, status)
_Key = tuple[str, str, AlertKind, str]
_PathAlerts = dict[_Key, tuple[int, AlertStatus]]


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """What the alerter needs from the configuration (swapped whole on reload)."""

    host: str
    labels: Mapping[str, LabelPolicy]
    categories: Mapping[str, str]  # category -> label
    routes: Sequence[repo.SinkRoute]


class Alerter:
    """Decides alerts inside the caller's transaction; the index follows the store.

    Changes to the index (and the counters and log lines that announce them) are staged
    while the transaction runs and applied by ``commit()`` once it committed; ``rollback()``
    drops them, so a failed write leaves the index as the store is.
    """

    def __init__(self, policy: AlertPolicy) -> None:
        self.policy = policy
        self._active: dict[str, _PathAlerts] = {}  # committed: as the store is
        self._staged: dict[str, _PathAlerts] = {}  # paths this transaction changed
        self._announce: list[tuple[str, dict[str, object]]] = []
        self._raised = 0
        self._resolved = 0
        self.raised = 0
        self.resolved = 0

    def load(self, conn: Connection) -> None:
        self._active.clear()
        self.rollback()
        for a in repo.load_active(conn, self.policy.host):
            self._active.setdefault(a.path, {})[(a.sha256, a.label, a.kind, a.subject)] = (
                a.id, a.status)

    def commit(self) -> None:
        """The transaction committed: the staged changes are the store's now."""
        for path, entries in self._staged.items():
            if entries:
                self._active[path] = entries
            else:
                self._active.pop(path, None)
        self.raised += self._raised
        self.resolved += self._resolved
        for (event, fields) in self._announce:
            (_log.warning if event == "alert" else _log.info)(event, **fields)
        self.rollback()

    def rollback(self) -> None:
        """The transaction failed: forget what it would have changed."""
        self._staged.clear()
        self._announce.clear()
        self._raised = self._resolved = 0

    def _view(self, path: str) -> _PathAlerts:
        staged = self._staged.get(path)
        return staged if staged is not None else self._active.get(path, {})

    def _touch(self, path: str) -> _PathAlerts:
        staged = self._staged.get(path)
        if staged is None:
            staged = self._staged[path] = dict(self._active.get(path, {}))
        return staged

    def has_alerts(self, path: str) -> bool:
        return bool(self._view(path))

    def evaluate(self, conn: Connection, result: FileResult, now: float,
                 moved_from: str | None = None,
                 origins: Mapping[str, Origin] | None = None,
                 actor: Actor | None = None) -> list[Alert]:
        """Raise what ``result`` violates; resolve this path's live alerts it no longer
        does (content changed, label gone, place now approved). Returns changed alerts.
        ``origins``: why the file carries labels no detection gave (labelling.resolve).
        ``actor``: the process that wrote, created or moved the file, if known."""
        origins = origins or {}
        path = result.path
        if result.sha256 is None:
            return []  # not read (error, skipped): no opinion on the file's alerts
        found = {(result.sha256, v.label, AlertKind.LOCATION, ""): v
                 for v in violations(path, result.labels, self.policy.labels)}
        changed: list[Alert] = []
        for key, (alert_id, status) in list(self._view(path).items()):
            if key[2] is AlertKind.EXPOSED and status in _LIVE and key[1] not in result.labels:
                changed += self._resolve(conn, path, key, alert_id,
                                         f"no longer labelled {key[1]}", now)
                continue
            if key in found or status not in _LIVE or key[2] is not AlertKind.LOCATION:
                continue
            sha, label = key[0], key[1]
            why = ("content changed" if sha != result.sha256
                   else f"no longer labelled {label}" if label not in result.labels
                   else f"{display_path(path)} is now an approved place for {label}")
            changed += self._resolve(conn, path, key, alert_id, why, now)
        for key, violation in found.items():
            if key in self._view(path):
                continue
            behind = tuple(d for d in result.detections
                           if self.policy.categories.get(d.category) == violation.label)
            alert = repo.raise_alert(conn, Alert(
                id=0, created=now, updated=now, host=self.policy.host, path=path,
                sha256=result.sha256, label=violation.label, labels=result.labels,
                categories=result.categories,
                rules=tuple(sorted({d.rule for d in behind})),
                severity=violation.severity, reason=violation.reason,
                provenance=(provenance_text(origins[violation.label], violation.label,
                                            self.policy.host)
                            if violation.label in origins else
                            self._provenance(conn, path, result.sha256, violation.label,
                                             moved_from)),
                status=AlertStatus.OPEN,
                details=details(result, behind, origins.get(violation.label), actor),
            ), self.policy.routes)
            # None: already active in the store (our index was stale), or the content is
            # a false positive with this label (a decision taken in the CLI, any path).
            changed += self._raised_as(conn, path, key, alert)
        return changed

    def _raised_as(self, conn: Connection, path: str, key: _Key,
                   alert: Alert | None) -> list[Alert]:
        """Index what ``raise_alert`` gave. None: already active in the store (our index
        was stale), or the content is a false positive with this label (a decision taken
        in the CLI, any path)."""
        if alert is None:
            existing = repo.active_id(conn, path, key[0], key[1], key[2], key[3],
                                      host=self.policy.host)
            if existing is not None:
                self._touch(path)[key] = (existing, AlertStatus.OPEN)
            return []
        self._touch(path)[key] = (alert.id, alert.status)
        self._raised += 1
        self._announce.append(("alert", {
            "id": alert.id, "kind": alert.kind.value, "path": display_path(path),
            "label": alert.label, "severity": str(alert.severity),
            "categories": list(alert.categories), "rules": list(alert.rules),
            "provenance": alert.provenance, "reason": alert.reason}))
        return [alert]

    def unauthorized(self, conn: Connection, path: str, sha256: str, labels: tuple[str, ...],
                     label: str, severity: Severity, actor: Actor, now: float) -> list[Alert]:
        """``actor`` opened ``path``, labelled ``label``, and is not among its readers: one
        alert per user, file and (local) day; repeats that day change nothing."""
        who = f"uid:{actor.uid}" if actor.uid is not None else f"pid:{actor.pid}"
        subject = f"{who} {time.strftime('%Y-%m-%d', time.localtime(now))}"
        key = (sha256, label, AlertKind.UNAUTHORIZED_ACCESS, subject)
        if key in self._view(path):
            return []
        alert = repo.raise_alert(conn, Alert(
            id=0, created=now, updated=now, host=self.policy.host, path=path, sha256=sha256,
            label=label, labels=labels, categories=(), rules=(), severity=severity,
            reason=f"opened by {actor.describe()}, who is not among the readers of {label}",
            provenance=None, status=AlertStatus.OPEN,
            details=AlertDetails(size=0, actor=actor),
            kind=AlertKind.UNAUTHORIZED_ACCESS, subject=subject), self.policy.routes)
        return self._raised_as(conn, path, key, alert)

    def exposure(self, conn: Connection, path: str, sha256: str, labels: tuple[str, ...],
                 label: str, severity: Severity, reasons: Sequence[str],
                 now: float) -> list[Alert]:
        """Who outside ``label``'s readers can read ``path`` now (``reasons``; empty: nobody):
        raise an ``exposed`` alert, or resolve the live one when it is closed again."""
        key = (sha256, label, AlertKind.EXPOSED, "")
        changed: list[Alert] = []
        for other, (alert_id, status) in list(self._view(path).items()):
            if other[1] == label and other[2] is AlertKind.EXPOSED and status in _LIVE and (
                    not reasons or other != key):
                changed += self._resolve(conn, path, other, alert_id,
                                         "no longer readable outside its readers"
                                         if not reasons else "content changed", now)
        if not reasons or key in self._view(path):
            return changed
        alert = repo.raise_alert(conn, Alert(
            id=0, created=now, updated=now, host=self.policy.host, path=path, sha256=sha256,
            label=label, labels=labels, categories=(), rules=(), severity=severity,
            reason=f"readable outside the readers of {label}: " + "; ".join(reasons),
            provenance=None, status=AlertStatus.OPEN, details=None,
            kind=AlertKind.EXPOSED), self.policy.routes)
        return changed + self._raised_as(conn, path, key, alert)

    def gone(self, conn: Connection, path: str, why: str, now: float) -> list[Alert]:
        """``path`` was deleted or moved away: its live state alerts are resolved (what
        happened to it, an unauthorized open, stays for a person to close)."""
        changed: list[Alert] = []
        for key, (alert_id, status) in list(self._view(path).items()):
            if status in _LIVE and key[2] in _STATES:
                changed += self._resolve(conn, path, key, alert_id, why, now)
        return changed

    def gone_under(self, conn: Connection, directory: str, why: str, now: float) -> list[Alert]:
        changed: list[Alert] = []
        for path in [p for p in self.paths() if is_under(p, directory)]:
            changed += self.gone(conn, path, why, now)
        return changed

    def paths(self) -> list[str]:
        """Paths with active alerts (real paths: what the file system is asked about)."""
        return [p for p in {**self._active, **self._staged} if self._view(p)]

    def _resolve(self, conn: Connection, path: str, key: _Key, alert_id: int,
                 why: str, now: float) -> list[Alert]:
        self._touch(path).pop(key, None)
        alert = repo.set_status(conn, alert_id, AlertStatus.RESOLVED, author=AUTHOR,
                                note=why, now=now, sinks=self.policy.routes,
                                only_from=_LIVE)
        if alert is None:
            return []
        self._resolved += 1
        self._announce.append(("alert resolved", {
            "id": alert.id, "path": display_path(path), "label": alert.label, "why": why}))
        return [alert]

    def _provenance(self, conn: Connection, path: str, sha256: str, label: str,
                    moved_from: str | None) -> str | None:
        if moved_from:
            return f"moved from {display_path(moved_from)}"
        policy = self.policy.labels.get(label)
        here = self.policy.host
        # Any host's stored copies (the store is shared), this host's first; a copy in an
        # approved place first of all (the fleet's label policies are one configuration).
        copies = sorted((c for c in files_repo.copies_of(conn, sha256) if c != (here, path)),
                        key=lambda c: c[0] != here)
        approved = [c for c in copies if policy is not None and approved_for(c[1], policy)]
        found = approved or copies
        if not found:
            return None
        host, where = found[0]
        return f"copy of {where_on(host, where, here)}"


def where_on(host: str | None, path: str, here: str) -> str:
    """A path for people: ``fs-a:/data/x`` when it is on another host than ``here``, the
    path alone on this one."""
    shown = display_path(path)
    return f"{host}:{shown}" if host and host != here else shown


def provenance_text(origin: Origin, label: str, here: str) -> str:
    """The sentence an analyst reads: ``contains 31% of /data/itar/k17/spec.docx
    (export-controlled, set by prof_k on 2026-11-02)``, the source's host named when it is
    not ``here`` (``copy of fs-a:/data/...``). The fields are in the alert's details
    (``origin``) for programs."""
    where = (where_on(origin.source_host, origin.source_path, here)
             if origin.source_path else None)
    what = {
        "copy": f"copy of {where}",
        "derived": (f"holds {origin.rows} rows of {where}" if origin.rows is not None
                    else f"contains {round((origin.share or 0) * 100)}% of {where}"),
        "inherited": f"inherited from {where}",
        "moved": f"moved from {where}",
        "xattr": "labelled by its user.dlpd.labels attribute",
        "explicit": "labelled on the file itself",
        "marker": "labelled by a .dlpd-label marker",
    }.get(origin.kind, origin.kind)
    who = [label]
    if origin.set_by:
        who.append(f"set by {origin.set_by}")
    if origin.set_at:
        who[-1] += " on " + time.strftime("%Y-%m-%d", time.localtime(origin.set_at))
    return f"{what} ({', '.join(who)})"


def details(result: FileResult, behind: Sequence[Detection],
            origin: Origin | None = None, actor: Actor | None = None) -> AlertDetails:
    """What the scan knew of the file, for the alert (``behind``: the detections behind its
    label). Names are looked up now: a uid's name can change before anyone reads it."""
    st = result.stat
    uid = st.uid if st is not None else None
    gid = st.gid if st is not None else None
    return AlertDetails(
        size=result.size, mtime=st.mtime_ns / 1e9 if st is not None else None,
        uid=uid, gid=gid, owner=_user(uid), group=_group(gid), mime=result.mime,
        detections=tuple(behind), origin=origin, actor=actor)


def _user(uid: int | None) -> str | None:
    try:
        return None if uid is None else pwd.getpwuid(uid).pw_name
    except KeyError:  # no such user (any more): the number is all there is
        return None


def _group(gid: int | None) -> str | None:
    try:
        return None if gid is None else grp.getgrgid(gid).gr_name
    except KeyError:
        return None
