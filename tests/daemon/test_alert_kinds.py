"""Alerts of three kinds side by side in one store: a labelled file outside its places
(location), opened by someone outside its readers (unauthorized-access: one per user, file
and day, never resolved by itself), readable by outsiders (exposed: resolved when closed
again). A real SQLite store, the real Alerter, the outbox rows they queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from dlpd.daemon.alerting import Alerter, AlertPolicy
from dlpd.model import (
    Actor,
    Alert,
    AlertKind,
    AlertStatus,
    FileResult,
    FileStat,
    Outcome,
    Severity,
)
from dlpd.policy.decide import LabelPolicy
from dlpd.store import alerts as repo
from dlpd.store.db import Connection, Engine, open_engine, transaction

LABEL = "export-controlled"
SHA = "cd" * 32
PATH = "/srv/share/k17/spec.docx"
MALLORY = Actor(pid=4242, uid=1006, user="mallory", gid=1006, ppid=1, exe="/usr/bin/cp",
                cmdline="cp /srv/share/k17/spec.docx /tmp/x")
DAVE = Actor(pid=5151, uid=1005, user="dave", gid=1005, ppid=1, exe="/usr/bin/cat",
             cmdline="cat /srv/share/k17/spec.docx")


def _alerter(engine: Engine) -> Alerter:
    policy = AlertPolicy(host="fs-a", labels={LABEL: LabelPolicy(Severity.HIGH,
                                                                 ("/data/itar",))},
                         categories={}, routes=(repo.SinkRoute("hook"),))
    alerter = Alerter(policy)
    with transaction(engine) as conn:
        alerter.load(conn)
    return alerter


def _in_tx(engine: Engine, alerter: Alerter,
           step: Callable[[Connection], list[Alert]]) -> list[Alert]:
    with transaction(engine) as conn:
        changed = step(conn)
    alerter.commit()
    return changed


def _opened_by(alerter: Alerter, who: Actor, now: float, conn: Connection) -> list[Alert]:
    return alerter.unauthorized(conn, PATH, SHA, (LABEL,), LABEL, Severity.HIGH, who, now)


def _alerts(engine: Engine) -> list[Alert]:
    with transaction(engine) as conn:
        return repo.query(conn)


def test_three_kinds_of_alert_on_one_file(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")
    alerter = _alerter(engine)
    now = time.time()
    result = FileResult(PATH, Outcome.OK, size=10, sha256=SHA, labels=(LABEL,),
                        stat=FileStat(1, 2, 10, 0, 0, 1006, 1006))
    # Written outside the approved place by mallory's cp: the location alert names cp.
    raised = _in_tx(engine, alerter, lambda c: alerter.evaluate(c, result, now,
                                                                actor=MALLORY))
    assert [a.kind for a in raised] == [AlertKind.LOCATION]
    assert raised[0].details is not None and raised[0].details.actor == MALLORY

    # Opened by dave three times today and by mallory once: two alerts, not four.
    for who in (DAVE, DAVE, MALLORY, DAVE):
        _in_tx(engine, alerter, partial(_opened_by, alerter, who, now))
    opens = [a for a in _alerts(engine) if a.kind is AlertKind.UNAUTHORIZED_ACCESS]
    assert sorted(a.subject.split()[0] for a in opens) == ["uid:1005", "uid:1006"]
    assert all("not among the readers of export-controlled" in a.reason for a in opens)
    # The next day is another alert for the same user and file.
    _in_tx(engine, alerter, lambda c: alerter.unauthorized(
        c, PATH, SHA, (LABEL,), LABEL, Severity.HIGH, DAVE, now + 86_400))
    assert sum(a.kind is AlertKind.UNAUTHORIZED_ACCESS for a in _alerts(engine)) == 3

    # World-readable: exposed, with the reason; closed again: resolved by itself.
    _in_tx(engine, alerter, lambda c: alerter.exposure(
        c, PATH, SHA, (LABEL,), LABEL, Severity.HIGH, ["world-readable"], now))
    _in_tx(engine, alerter, lambda c: alerter.exposure(
        c, PATH, SHA, (LABEL,), LABEL, Severity.HIGH, ["world-readable"], now + 1))
    exposed = [a for a in _alerts(engine) if a.kind is AlertKind.EXPOSED]
    assert len(exposed) == 1 and exposed[0].reason.endswith(": world-readable")
    _in_tx(engine, alerter, lambda c: alerter.exposure(
        c, PATH, SHA, (LABEL,), LABEL, Severity.HIGH, [], now + 2))
    by_kind = {(a.kind, a.status) for a in _alerts(engine)}
    assert (AlertKind.EXPOSED, AlertStatus.RESOLVED) in by_kind

    # The file is deleted: the location alert resolves; what happened to it stays.
    _in_tx(engine, alerter, lambda c: alerter.gone(c, PATH, "deleted", now + 3))
    left = {(a.kind, a.status) for a in _alerts(engine)}
    assert (AlertKind.LOCATION, AlertStatus.RESOLVED) in left
    assert all(a.status is AlertStatus.OPEN for a in _alerts(engine)
               if a.kind is AlertKind.UNAUTHORIZED_ACCESS)

    # The index the daemon keeps is rebuilt from the store the same way.
    again = _alerter(engine)
    _in_tx(engine, again, lambda c: again.unauthorized(
        c, PATH, SHA, (LABEL,), LABEL, Severity.HIGH, MALLORY, now))
    assert sum(a.kind is AlertKind.UNAUTHORIZED_ACCESS for a in _alerts(engine)) == 3
