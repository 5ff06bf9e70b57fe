"""The console's alert queries: filtered lists paged by keyset, tab counts, the ids a bulk
action covers, exports and the summary page's numbers.

Pages go newest first by id and continue *below* the last id shown (``id < before_id``),
never by OFFSET: page 1000 costs what page 1 does, and an alert raised meanwhile neither
repeats a row nor skips one. Each single-valued filter has a ``(column, id)`` index
(schema.py) that yields rows already in that order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    and_,
    func,
    select,
    union_all,
)

from dlpd.model import AlertKind, AlertStatus, Severity, path_fields
from dlpd.store.paths import real, under
from dlpd.store.schema import alerts


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What the alert list shows; every field narrows, a tuple takes any of its values
    and an empty one takes all."""

    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()  # exact names ("high"), not "and above"
    labels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    path_prefix: str | None = None  # at or under, by whole components of the path's bytes
    since: float | None = None  # created >= since
    until: float | None = None  # created < until
    max_id: int | None = None  # bulk actions: only alerts that existed when the page was shown


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One line of the alert list: no notes, no details (the detail page reads those)."""

    id: int
    created: float
    updated: float
    host: str
    path: str  # the real path (os.fsdecode form); show it through textsafe/display_path
    label: str
    severity: Severity
    status: AlertStatus
    kind: AlertKind
    reason: str
    rules: tuple[str, ...]
    categories: tuple[str, ...]
    provenance: str | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "created": self.created, "updated": self.updated,
                "host": self.host, **path_fields(self.path), "label": self.label,
                "severity": str(self.severity), "status": self.status.value,
                "kind": self.kind.value, "reason": self.reason, "rules": list(self.rules),
                "categories": list(self.categories), "provenance": self.provenance}


_ROW_COLUMNS = (alerts.c.id, alerts.c.created, alerts.c.updated, alerts.c.host,
                alerts.c.path_key, alerts.c.label, alerts.c.severity, alerts.c.status,
                alerts.c.kind, alerts.c.reason, alerts.c.rules, alerts.c.categories,
                alerts.c.provenance)


def _row(r: RowMapping) -> AlertRow:
    return AlertRow(
        id=int(r["id"]), created=float(r["created"]), updated=float(r["updated"]),
        host=str(r["host"]), path=real(r["path_key"]), label=str(r["label"]),
        severity=Severity.parse(str(r["severity"])), status=AlertStatus(str(r["status"])),
        kind=AlertKind(str(r["kind"])), reason=str(r["reason"]),
        rules=tuple(json.loads(str(r["rules"]))),
        categories=tuple(json.loads(str(r["categories"]))),
        provenance=None if r["provenance"] is None else str(r["provenance"]))


def _conditions(f: AlertFilter, *, statuses: bool = True) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    for values, column in ((f.statuses if statuses else (), alerts.c.status),
                           (f.severities, alerts.c.severity), (f.labels, alerts.c.label),
                           (f.kinds, alerts.c.kind), (f.hosts, alerts.c.host)):
        if len(values) == 1:
            found.append(column == values[0])
        elif values:
            found.append(column.in_(list(values)))
    if f.path_prefix:
        found.append(under(alerts.c.path_key, f.path_prefix))
    if f.since is not None:
        found.append(alerts.c.created >= f.since)
    if f.until is not None:
        found.append(alerts.c.created < f.until)
    if f.max_id is not None:
        found.append(alerts.c.id <= f.max_id)
    return found


def _where(stmt: Select[Any], conditions: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return stmt.where(and_(*conditions)) if conditions else stmt


# A range (a path prefix, a time window) that holds this many alerts is "broad": SQLite
# then does better walking the id order and testing each row than sorting every row of
# the range for one page. Counting that many index entries costs about a millisecond.
_BROAD = 2000
# A filter with more values than this is tested with IN (and sorted), not split.
_MAX_BRANCHES = 8


def _unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` in a form no index serves (SQLite then keeps the id order's index)."""
    return func.coalesce(column, column)


def _is_broad(conn: Connection, condition: ColumnElement[bool]) -> bool:
    probe = select(alerts.c.id).where(condition).limit(_BROAD).subquery()
    return int(conn.execute(select(func.count()).select_from(probe)).scalar_one()) >= _BROAD


def _only(field: str, value: str) -> dict[str, Any]:
    return {field: (value,)}


def _ordered_branches(conn: Connection, f: AlertFilter) -> list[list[ColumnElement[bool]]]:
    """``f`` as conditions for an id-ordered walk: one conjunction per value of the first
    filter given several values (each then walks its own ``(column, id)`` index in order,
    and the branches are merged), and, on SQLite, a broad range moved off its index."""
    ranges: list[ColumnElement[bool]] = []
    rest = replace(f, path_prefix=None, since=None, until=None)
    sqlite = conn.dialect.name == "sqlite"
    if f.path_prefix:
        narrow = under(alerts.c.path_key, f.path_prefix)
        ranges.append(under(_unindexed(alerts.c.path_key), f.path_prefix)
                      if sqlite and _is_broad(conn, narrow) else narrow)
    if f.since is not None or f.until is not None:
        column: ColumnElement[Any] = alerts.c.created
        window = _conditions(AlertFilter(since=f.since, until=f.until))
        if sqlite and _is_broad(conn, and_(*window)):
            column = _unindexed(alerts.c.created)
        if f.since is not None:
            ranges.append(column >= f.since)
        if f.until is not None:
            ranges.append(column < f.until)
    for field in ("statuses", "severities", "labels", "kinds", "hosts"):
        values = tuple(dict.fromkeys(getattr(f, field)))
        if 1 < len(values) <= _MAX_BRANCHES:
            return [[*_conditions(replace(rest, **_only(field, v))), *ranges] for v in values]
    return [[*_conditions(rest), *ranges]]


def _walk(conn: Connection, f: AlertFilter, columns: Sequence[ColumnElement[Any]], *,
          beyond: int | None, newest_first: bool, limit: int) -> list[RowMapping]:
    """Up to ``limit`` rows of ``columns`` matching ``f`` in id order, past ``beyond``."""
    def branch(conditions: list[ColumnElement[bool]]) -> Select[Any]:
        if beyond is not None:
            conditions = [*conditions, alerts.c.id < beyond if newest_first
                          else alerts.c.id > beyond]
        order = alerts.c.id.desc() if newest_first else alerts.c.id
        return _where(select(*columns), conditions).order_by(order).limit(limit)

    branches = [branch(b) for b in _ordered_branches(conn, f)]
    if len(branches) == 1:
        return list(conn.execute(branches[0]).mappings())
    merged = union_all(*(select(b.subquery()) for b in branches)).subquery()
    order = merged.c.id.desc() if newest_first else merged.c.id
    return list(conn.execute(select(merged).order_by(order).limit(limit)).mappings())


def page(conn: Connection, f: AlertFilter, *, before_id: int | None,
         limit: int) -> list[AlertRow]:
    """Up to ``limit`` alerts matching ``f``, newest first, below ``before_id`` (the last
    id of the page before; None for the first page)."""
    return [_row(r) for r in _walk(conn, f, _ROW_COLUMNS, beyond=before_id, newest_first=True,
                                   limit=limit)]


def iter_rows(conn: Connection, f: AlertFilter, *, chunk: int = 1000) -> Iterator[AlertRow]:
    """Every alert matching ``f``, newest first, ``chunk`` rows per query (an export of a
    million rows holds one chunk at a time, and no cursor stays open between them)."""
    before: int | None = None
    while rows := page(conn, f, before_id=before, limit=chunk):
        yield from rows
        before = rows[-1].id


def count_by_status(conn: Connection, f: AlertFilter, *,
                    limit: int | None = None) -> dict[str, int]:
    """Alerts matching ``f`` in each status, whatever ``f.statuses`` says (the list's
    tabs); every status is present. ``limit``: stop counting a status there (a count of
    ``limit`` then means "at least"), which bounds the cost on a very large store."""
    conditions = _conditions(f, statuses=False)
    counts = {}
    for status in AlertStatus:
        inner = _where(select(alerts.c.id), [alerts.c.status == status.value, *conditions])
        if limit is not None:
            inner = inner.limit(limit)
        counts[status.value] = int(conn.execute(
            select(func.count()).select_from(inner.subquery())).scalar_one())
    return counts


def matching_ids(conn: Connection, f: AlertFilter, *, exclude: frozenset[int] = frozenset(),
                 chunk: int = 1000) -> Iterator[list[int]]:
    """The ids of every alert matching ``f`` except ``exclude``, in ascending chunks of at
    most ``chunk`` (a bulk action changes them a chunk per transaction). Continues above
    the last id given, so alerts that leave the filter as they are changed are not
    skipped over; set ``f.max_id`` to leave out alerts raised after the page was shown."""
    after: int | None = None
    while found := [int(r["id"]) for r in _walk(conn, f, (alerts.c.id,), beyond=after,
                                                 newest_first=False, limit=chunk)]:
        after = found[-1]
        if kept := [i for i in found if i not in exclude]:
            yield kept


@dataclass(frozen=True, slots=True)
class DayCount:
    day: str  # YYYY-MM-DD, the server's local calendar
    start: float  # local midnight, unix time
    alerts: int  # raised that day, whatever their status now


@dataclass(frozen=True, slots=True)
class Summary:
    """The summary page's numbers; "open" is the status open (not yet triaged)."""

    open_by_label: tuple[tuple[str, str, int], ...]  # (label, severity, open alerts)
    per_day: tuple[DayCount, ...]  # oldest first, every day from `since` to `now`
    top_paths: tuple[tuple[str, int], ...]  # (real path, open alerts), most first, <= 10
    by_status: tuple[tuple[str, int], ...]  # every status, in AlertStatus order


def _local_midnights(since: float, now: float) -> list[float]:
    """Local midnight of ``since``'s day, then of each following day up to ``now``
    (mktime normalises day 32 and finds each midnight across daylight-saving changes)."""
    first = time.localtime(since)
    starts: list[float] = []
    day = 0
    while True:
        start = time.mktime((first.tm_year, first.tm_mon, first.tm_mday + day, 0, 0, 0, 0, 0,
                             -1))
        if start > now or day > 3660:
            return starts
        starts.append(start)
        day += 1


def summary(conn: Connection, *, since: float, now: float) -> Summary:
    is_open = alerts.c.status == AlertStatus.OPEN.value
    by_label = conn.execute(
        select(alerts.c.label, alerts.c.severity, func.count()).where(is_open)
        .group_by(alerts.c.label, alerts.c.severity)).all()
    rank = {str(s): s.value for s in Severity}
    open_by_label = tuple(sorted(((str(lab), str(sev), int(n)) for lab, sev, n in by_label),
                                 key=lambda t: (t[0], -rank.get(t[1], 0))))
    starts = _local_midnights(since, now)
    per_day = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else now
        n = conn.execute(select(func.count()).select_from(alerts).where(
            alerts.c.created >= max(start, since), alerts.c.created < end)).scalar_one()
        per_day.append(DayCount(time.strftime("%Y-%m-%d", time.localtime(start)), start, int(n)))
    opened = func.count().label("n")
    top = conn.execute(select(alerts.c.path_key, opened).where(is_open)
                       .group_by(alerts.c.path_key).order_by(opened.desc(), alerts.c.path_key)
                       .limit(10)).all()
    statuses: dict[str, int] = dict(conn.execute(select(alerts.c.status, func.count())
                                 .group_by(alerts.c.status)).all())
    return Summary(
        open_by_label=open_by_label, per_day=tuple(per_day),
        top_paths=tuple((real(k), int(n)) for k, n in top),
        by_status=tuple((s.value, int(statuses.get(s.value, 0))) for s in AlertStatus))
