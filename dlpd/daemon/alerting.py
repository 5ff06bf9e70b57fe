"""Turn scan results and file events into alerts: raise, supersede, auto-resolve.

Runs on the daemon's main thread only, inside the caller's transaction. The in-memory
index of active alerts spares the store a query per unchanged file during a crawl; the
store's unique index stays the authority on "one active alert per (path, sha256, label)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from dlpd.model import Alert, AlertStatus, FileResult, display_path
from dlpd.policy.decide import LabelPolicy, approved_for, is_under, violations
from dlpd.store import alerts as repo
from dlpd.store import files as files_repo
from dlpd.store.db import Connection

_log = structlog.get_logger("dlpd.alerts")

AUTHOR = "dlpd"
_LIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)

# (sha256, label) -> (alert id, status)
_PathAlerts = dict[tuple[str, str], tuple[int, AlertStatus]]


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """What the alerter needs from the configuration (swapped whole on reload)."""

    host: str
    labels: Mapping[str, LabelPolicy]
    categories: Mapping[str, str]  # category -> label
    routes: Sequence[repo.SinkRoute]


class Alerter:
    def __init__(self, policy: AlertPolicy) -> None:
        self.policy = policy
        self._active: dict[str, _PathAlerts] = {}
        self.raised = 0
        self.resolved = 0

    def load(self, conn: Connection) -> None:
        self._active.clear()
        for a in repo.load_active(conn):
            self._active.setdefault(a.path, {})[(a.sha256, a.label)] = (a.id, a.status)

    def has_alerts(self, path: str) -> bool:
        return path in self._active

    def evaluate(self, conn: Connection, result: FileResult, now: float,
                 moved_from: str | None = None) -> list[Alert]:
        """Raise what ``result`` violates; resolve this path's live alerts it no longer
        does (content changed, label gone, place now approved). Returns changed alerts."""
        path = display_path(result.path)
        if result.sha256 is None:
            return []  # not read (error, skipped): no opinion on the file's alerts
        found = {(result.sha256, v.label): v
                 for v in violations(path, result.labels, self.policy.labels)}
        changed: list[Alert] = []
        current = self._active.get(path, {})
        for key, (alert_id, status) in list(current.items()):
            if key in found or status not in _LIVE:
                continue
            sha, label = key
            why = ("content changed" if sha != result.sha256
                   else f"no longer labelled {label}" if label not in result.labels
                   else f"{path} is now an approved place for {label}")
            changed += self._resolve(conn, path, key, alert_id, why, now)
        for key, violation in found.items():
            if key in self._active.get(path, {}):
                continue
            alert = repo.raise_alert(conn, Alert(
                id=0, created=now, updated=now, host=self.policy.host, path=path,
                sha256=result.sha256, label=violation.label, labels=result.labels,
                categories=result.categories,
                rules=tuple(sorted({d.rule for d in result.detections
                                    if self.policy.categories.get(d.category) == violation.label})),
                severity=violation.severity, reason=violation.reason,
                provenance=self._provenance(conn, path, result.sha256, violation.label,
                                            moved_from),
                status=AlertStatus.OPEN,
            ), self.policy.routes)
            if alert is None:  # already active in the store: our index was stale
                existing = repo.active_id(conn, path, result.sha256, violation.label)
                if existing is not None:
                    self._active.setdefault(path, {})[key] = (existing, AlertStatus.OPEN)
                continue
            self._active.setdefault(path, {})[key] = (alert.id, alert.status)
            self.raised += 1
            _log.warning("alert", id=alert.id, path=path, label=alert.label,
                         severity=alert.severity, categories=list(alert.categories),
                         rules=list(alert.rules), provenance=alert.provenance)
            changed.append(alert)
        return changed

    def gone(self, conn: Connection, path: str, why: str, now: float) -> list[Alert]:
        """``path`` was deleted or moved away: its live alerts are resolved."""
        changed: list[Alert] = []
        for key, (alert_id, status) in list(self._active.get(path, {}).items()):
            if status in _LIVE:
                changed += self._resolve(conn, path, key, alert_id, why, now)
        return changed

    def gone_under(self, conn: Connection, directory: str, why: str, now: float) -> list[Alert]:
        changed: list[Alert] = []
        for path in [p for p in self._active if is_under(p, directory)]:
            changed += self.gone(conn, path, why, now)
        return changed

    def paths(self) -> list[str]:
        return list(self._active)

    def _resolve(self, conn: Connection, path: str, key: tuple[str, str], alert_id: int,
                 why: str, now: float) -> list[Alert]:
        self._active[path].pop(key, None)
        if not self._active[path]:
            del self._active[path]
        alert = repo.set_status(conn, alert_id, AlertStatus.RESOLVED, author=AUTHOR,
                                note=why, now=now, sinks=self.policy.routes,
                                only_from=_LIVE)
        if alert is None:
            return []
        self.resolved += 1
        _log.info("alert resolved", id=alert.id, path=path, label=alert.label, why=why)
        return [alert]

    def _provenance(self, conn: Connection, path: str, sha256: str, label: str,
                    moved_from: str | None) -> str | None:
        if moved_from:
            return f"moved from {moved_from}"
        policy = self.policy.labels.get(label)
        copies = [p for p in files_repo.paths_with_sha256(conn, sha256) if p != path]
        approved = [p for p in copies if policy is not None and approved_for(p, policy)]
        if approved:
            return f"copy of {approved[0]}"
        if copies:
            return f"copy of {copies[0]}"
        return None
