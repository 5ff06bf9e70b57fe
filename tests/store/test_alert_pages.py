"""The console's alert queries on a real SQLite file and PostgreSQL database, alerts
raised as the daemon raises them (store.alerts.raise_alert)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from dlpd.model import Alert, AlertKind, AlertStatus, Severity
from dlpd.store import alert_pages as pages
from dlpd.store import alerts as repo
from dlpd.store.alert_pages import AlertFilter
from dlpd.store.db import open_engine, transaction

SINKS = (repo.SinkRoute("hook"),)
T0 = 1_700_000_000.0
DAY = 86400.0
ODD = os.fsdecode(b"/data/a/caf\xe9 <b>.txt")  # not UTF-8: a lone surrogate in the str


def _alert(path: str, n: int, *, label: str = "pii", severity: str = "high",
           host: str = "fs-01", kind: AlertKind = AlertKind.LOCATION,
           created: float | None = None) -> Alert:
    t = T0 + n * 60.0 if created is None else created
    return Alert(id=0, created=t, updated=t, host=host, path=path, sha256=f"{n:064x}",
                 label=label, labels=(label,), categories=("credit-card",),
                 rules=("card_numbers",), severity=Severity.parse(severity),
                 reason=f"label {label} may only live under /secure",
                 provenance="copy of /secure/x" if n % 2 else None,
                 status=AlertStatus.OPEN, kind=kind)


def _raise(conn: sa.Connection, *drafts: Alert) -> list[int]:
    made = [repo.raise_alert(conn, d, SINKS) for d in drafts]
    assert all(m is not None for m in made)
    return [m.id for m in made if m is not None]


@pytest.fixture
def engine(store_url: str) -> sa.Engine:
    """Twelve alerts, ids 1-12, each differing from the first in one field."""
    engine = open_engine(store_url)
    with transaction(engine) as conn:
        _raise(conn,
               _alert("/data/a/1", 1),
               _alert("/data/a/2", 2, label="export"),
               _alert("/data/a/3", 3, severity="low"),
               _alert("/data/a/4", 4, host="ws-07"),
               _alert("/data/a/5", 5, kind=AlertKind.EXPOSED),
               _alert("/data/a2/6", 6),  # a sibling of /data/a, not under it
               _alert("/data/a", 7),  # the prefix itself
               _alert(ODD, 8),
               _alert("/data/a-b/9", 9),  # '-' sorts below '/': inside a naive range
               _alert("/home/u/10", 10, created=T0 + 5 * DAY),
               _alert("/data/a/11", 11, severity="critical"),
               _alert("/data/a/12", 12))
        repo.set_status(conn, 11, AlertStatus.ACKNOWLEDGED, author="a", note="n", now=T0 + 1,
                        sinks=SINKS)
        repo.set_status(conn, 12, AlertStatus.RESOLVED, author="a", note="n", now=T0 + 1,
                        sinks=SINKS)
    return engine


def _ids(engine: sa.Engine, f: AlertFilter, limit: int = 100) -> list[int]:
    with engine.connect() as conn:
        return [r.id for r in pages.page(conn, f, before_id=None, limit=limit)]


@pytest.mark.parametrize(("f", "expected"), [
    (AlertFilter(), list(range(12, 0, -1))),
    (AlertFilter(statuses=("acknowledged",)), [11]),
    (AlertFilter(statuses=("acknowledged", "resolved")), [12, 11]),
    (AlertFilter(severities=("low",)), [3]),
    (AlertFilter(severities=("low", "critical")), [11, 3]),
    (AlertFilter(labels=("export",)), [2]),
    (AlertFilter(kinds=("exposed",)), [5]),
    (AlertFilter(hosts=("ws-07",)), [4]),
    (AlertFilter(path_prefix="/data/a"), [12, 11, 8, 7, 5, 4, 3, 2, 1]),
    (AlertFilter(path_prefix="/data/a/"), [12, 11, 8, 7, 5, 4, 3, 2, 1]),
    (AlertFilter(path_prefix="/data/a2"), [6]),
    (AlertFilter(path_prefix=ODD), [8]),
    (AlertFilter(path_prefix="/"), list(range(12, 0, -1))),
    (AlertFilter(since=T0 + 4 * 60, until=T0 + 6 * 60), [5, 4]),
    (AlertFilter(since=T0 + DAY), [10]),
    (AlertFilter(until=T0 + 2 * 60), [1]),
    (AlertFilter(max_id=3), [3, 2, 1]),
    (AlertFilter(statuses=("open",), labels=("pii",), severities=("high",),
                 path_prefix="/data/a", hosts=("fs-01",), kinds=("location",)), [8, 7, 1]),
    (AlertFilter(statuses=("open", "acknowledged"), severities=("critical", "low")), [11, 3]),
    (AlertFilter(labels=("nothing",)), []),
])
def test_each_filter_narrows(engine: sa.Engine, f: AlertFilter, expected: list[int]) -> None:
    assert _ids(engine, f) == expected


def test_rows_carry_what_the_list_shows(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        row = pages.page(conn, AlertFilter(path_prefix=ODD), before_id=None, limit=1)[0]
        five = pages.page(conn, AlertFilter(kinds=("exposed",)), before_id=None, limit=1)[0]
    assert row.path == ODD and os.fsencode(row.path) == b"/data/a/caf\xe9 <b>.txt"
    assert (row.label, row.severity, row.status, row.kind) == (
        "pii", Severity.HIGH, AlertStatus.OPEN, AlertKind.LOCATION)
    assert row.rules == ("card_numbers",) and row.categories == ("credit-card",)
    assert row.created == T0 + 8 * 60 and row.provenance is None
    assert five.provenance == "copy of /secure/x" and five.kind is AlertKind.EXPOSED
    shown = row.to_json()
    assert shown["path"] == "/data/a/caf\\xe9 <b>.txt" and "path_b64" in shown
    assert shown["severity"] == "high" and shown["status"] == "open"


def test_keyset_pages_never_repeat_or_skip_while_alerts_arrive(engine: sa.Engine) -> None:
    seen: list[int] = []
    before = None
    with engine.connect() as reader:
        while rows := pages.page(reader, AlertFilter(statuses=("open", "resolved")),
                                 before_id=before, limit=3):
            seen += [r.id for r in rows]
            before = rows[-1].id
            with transaction(engine) as conn:  # a new alert lands between two pages
                _raise(conn, _alert(f"/new/{len(seen)}", 100 + len(seen)))
            reader.commit()
    assert seen == [12, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]


def test_count_by_status_ignores_the_status_filter(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert pages.count_by_status(conn, AlertFilter(statuses=("resolved",))) == {
            "open": 10, "acknowledged": 1, "resolved": 1, "false-positive": 0}
        assert pages.count_by_status(conn, AlertFilter(path_prefix="/data/a")) == {
            "open": 7, "acknowledged": 1, "resolved": 1, "false-positive": 0}
        assert pages.count_by_status(conn, AlertFilter(), limit=4)["open"] == 4


def test_matching_ids_in_chunks_without_the_excluded_or_the_newer(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        chunks = list(pages.matching_ids(conn, AlertFilter(path_prefix="/data/a", max_id=11),
                                         exclude=frozenset({2, 7}), chunk=2))
    assert chunks == [[1], [3, 4], [5], [8, 11]]  # chunks of 2 before excluding
    with engine.connect() as conn:
        # A bulk action moves alerts out of the filter as it goes: nothing is skipped.
        done: list[int] = []
        for chunk in pages.matching_ids(conn, AlertFilter(statuses=("open",)), chunk=3):
            for alert_id in chunk:
                repo.set_status(conn, alert_id, AlertStatus.ACKNOWLEDGED, author="a",
                                note="bulk", now=T0 + 9, sinks=SINKS)
            done += chunk
        assert done == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


def test_iter_rows_reads_everything_newest_first_in_chunks(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert [r.id for r in pages.iter_rows(conn, AlertFilter(), chunk=5)] == \
            list(range(12, 0, -1))
        assert [r.id for r in pages.iter_rows(conn, AlertFilter(path_prefix="/data/a2"))] == [6]


def test_broad_ranges_give_the_same_answer_as_narrow_ones(store_url: str) -> None:
    # Past pages._BROAD alerts in a range, SQLite walks the id order instead of the range's
    # index; the rows must not change with the plan.
    engine = open_engine(store_url)
    n = pages._BROAD * 3 // 2 + 60  # two thirds under /wide: past _BROAD
    with transaction(engine) as conn:
        _raise(conn, *(_alert(f"/wide/{i % 7}/{i}" if i % 3 else f"/wider/{i}", i,
                              severity=("low", "high")[i % 2]) for i in range(1, n + 1)))
    wide = [i for i in range(n, 0, -1) if i % 3]
    assert _ids(engine, AlertFilter(path_prefix="/wide"), limit=n) == wide
    assert _ids(engine, AlertFilter(path_prefix="/wide/3"), limit=n) == [
        i for i in wide if i % 7 == 3]
    window = AlertFilter(since=T0 + 60 * 10, until=T0 + 60 * (n - 10))
    assert _ids(engine, window, limit=n) == list(range(n - 11, 9, -1))
    assert _ids(engine, AlertFilter(path_prefix="/wide", severities=("low", "high"),
                                    since=T0 + 60 * 100), limit=10) == wide[:10]
    with engine.connect() as conn:
        pages_of_50 = []
        before = None
        while rows := pages.page(conn, AlertFilter(path_prefix="/wide"), before_id=before,
                                 limit=50):
            pages_of_50 += [r.id for r in rows]
            before = rows[-1].id
    assert pages_of_50 == wide


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The summary's days are the server's local days: fix the zone for the test."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_summary(engine: sa.Engine, tokyo: object) -> None:
    with engine.connect() as conn:
        s = pages.summary(conn, since=T0, now=T0 + 6 * DAY)
    assert dict(s.by_status) == {"open": 10, "acknowledged": 1, "resolved": 1,
                                 "false-positive": 0}
    assert s.open_by_label == (("export", "high", 1), ("pii", "high", 8), ("pii", "low", 1))
    # T0 is 2023-11-15 07:13 in Tokyo; alert 10 came five days later.
    assert [(d.day, d.alerts) for d in s.per_day] == [
        ("2023-11-15", 11), ("2023-11-16", 0), ("2023-11-17", 0), ("2023-11-18", 0),
        ("2023-11-19", 0), ("2023-11-20", 1), ("2023-11-21", 0)]
    assert s.per_day[1].start == T0 - 7 * 3600 - 13 * 60 - 20 + DAY  # local midnight
    assert all(n == 1 for _, n in s.top_paths)
    assert {p for p, _ in s.top_paths} == {
        "/data/a/1", "/data/a/2", "/data/a/3", "/data/a/4", "/data/a/5", "/data/a2/6",
        "/data/a", ODD, "/data/a-b/9", "/home/u/10"}


def test_top_paths_count_open_alerts_per_path(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        _raise(conn, _alert("/data/a/1", 50, label="export"),
               _alert("/data/a/1", 51, label="hr"), _alert(ODD, 52, label="hr"))
    with engine.connect() as conn:
        top = pages.summary(conn, since=T0, now=T0 + DAY).top_paths
    assert top[:2] == (("/data/a/1", 3), (ODD, 2))
