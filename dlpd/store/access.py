"""The access-log repository: aggregated file events on labelled files."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from dlpd.model import AccessKind, Actor, path_fields
from dlpd.store.paths import display_path, key, real, under
from dlpd.store.schema import access


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """``count`` events of ``kind`` on ``path`` by one actor between ``first`` and ``last``.

    ``path`` is the real path; ``src_path`` (where a move came from) is kept for people,
    as its display form."""

    path: str
    kind: AccessKind
    labels: tuple[str, ...]
    first: float
    last: float
    count: int
    src_path: str | None = None
    # Who (fanotify): None when the watch backend cannot tell (inotify, watchdog).
    actor: Actor | None = None
    id: int | None = None
    # Where it happened ([daemon] host): set on rows read from the store; the writer
    # names its host to insert_records.
    host: str | None = None

    @property
    def pid(self) -> int | None:
        return self.actor.pid if self.actor is not None else None

    @property
    def uid(self) -> int | None:
        return self.actor.uid if self.actor is not None else None

    @property
    def process(self) -> str | None:
        return self.actor.program if self.actor is not None else None

    def to_json(self) -> dict[str, object]:
        actor = self.actor
        return {"id": self.id, "host": self.host, **path_fields(self.path), "kind": str(self.kind),
                "src_path": None if self.src_path is None else display_path(self.src_path),
                "labels": list(self.labels), "first": self.first, "last": self.last,
                "count": self.count, "pid": self.pid, "uid": self.uid, "process": self.process,
                "user": actor.user if actor else None, "gid": actor.gid if actor else None,
                "ppid": actor.ppid if actor else None, "exe": actor.exe if actor else None,
                "cmdline": actor.cmdline if actor else None}


def _actor_columns(actor: Actor | None) -> dict[str, object]:
    """The actor's strings come from /proc: bytes the process chose (decoded with
    surrogateescape), so they are kept in their display form (an escape for bytes that
    are not UTF-8), as paths are."""
    if actor is None:
        return {"pid": None, "uid": None, "process": None, "user": None, "gid": None,
                "ppid": None, "exe": None, "cmdline": None}

    def shown(text: str | None) -> str | None:
        return None if text is None else display_path(text)

    return {"pid": actor.pid, "uid": actor.uid, "process": shown(actor.program),
            "user": shown(actor.user), "gid": actor.gid, "ppid": actor.ppid,
            "exe": shown(actor.exe), "cmdline": shown(actor.cmdline)}


def _actor_of(row: RowMapping) -> Actor | None:
    if row["pid"] is None:
        return None
    return Actor(pid=int(row["pid"]), uid=row["uid"], user=row["user"], gid=row["gid"],
                 ppid=row["ppid"], exe=row["exe"],
                 # Rows from before 0006 have only the program's name.
                 cmdline=row["cmdline"] if row["cmdline"] is not None or row["exe"] is not None
                 else row["process"])


def insert_records(conn: Connection, records: Sequence[AccessRecord], *,
                   host: str) -> list[int]:
    """Insert ``host``'s records in one statement; the new ids, in the order of
    ``records``."""
    if not records:
        return []
    rows = [{"host": host, "path_key": key(r.path), "path": display_path(r.path),
             "kind": str(r.kind),
             "src_path": None if r.src_path is None else display_path(r.src_path),
             **_actor_columns(r.actor), "labels": json.dumps(list(r.labels)),
             "first": r.first, "last": r.last, "count": r.count} for r in records]
    result = conn.execute(insert(access).returning(access.c.id, sort_by_parameter_order=True),
                          rows)
    return [int(row.id) for row in result]


def add_repeats(conn: Connection, updates: Sequence[tuple[int, int, float]]) -> None:
    """``(record id, repeats, last time)`` for each record, in one executemany."""
    if updates:
        conn.execute(update(access).where(access.c.id == bindparam("rid")).values(
            count=access.c.count + bindparam("repeats"), last=bindparam("t")),
            [{"rid": i, "repeats": n, "t": t} for i, n, t in updates])


def _filtered(stmt: Select[Any], *, path_prefix: str | None, since: float | None,
              labels: Sequence[str], kinds: Sequence[AccessKind],
              uids: Sequence[int], hosts: Sequence[str] = ()) -> Select[Any]:
    if hosts:
        stmt = stmt.where(access.c.host.in_(list(hosts)))
    if path_prefix:
        stmt = stmt.where(under(access.c.path_key, path_prefix))
    if since is not None:
        stmt = stmt.where(access.c.last >= since)
    if labels:
        # Labels are a JSON list; match the quoted name so "pii" does not match "pii-x".
        stmt = stmt.where(or_(*(access.c.labels.contains(json.dumps(label))
                                for label in labels)))
    if kinds:
        stmt = stmt.where(access.c.kind.in_([str(k) for k in kinds]))
    if uids:
        stmt = stmt.where(access.c.uid.in_(list(uids)))
    return stmt


def query(conn: Connection, *, path_prefix: str | None = None, since: float | None = None,
          labels: Sequence[str] = (), kinds: Sequence[AccessKind] = (),
          uids: Sequence[int] = (), hosts: Sequence[str] = (),
          limit: int | None = None) -> list[AccessRecord]:
    stmt = _filtered(select(access).order_by(access.c.id), path_prefix=path_prefix,
                     since=since, labels=labels, kinds=kinds, uids=uids, hosts=hosts)
    if limit:
        stmt = stmt.order_by(None).order_by(access.c.id.desc()).limit(limit)
    rows = sorted(conn.execute(stmt).mappings(), key=lambda r: int(r["id"]))
    return [_record(r) for r in rows]


@dataclass(frozen=True, slots=True)
class TopActor:
    """One user with one program: how many events on how many labelled files."""

    uid: int | None
    user: str | None
    process: str | None
    events: int
    files: int
    last: float

    def to_json(self) -> dict[str, object]:
        return {"uid": self.uid, "user": self.user, "process": self.process,
                "events": self.events, "files": self.files, "last": self.last}


def top(conn: Connection, *, since: float | None = None, labels: Sequence[str] = (),
        kinds: Sequence[AccessKind] = (), path_prefix: str | None = None,
        hosts: Sequence[str] = (), limit: int = 20) -> list[TopActor]:
    """Who did the most (events summed over repeats), by user and program; rows without
    an actor (inotify) are not counted."""
    events = func.sum(access.c.count).label("events")
    stmt = _filtered(
        select(access.c.uid, func.max(access.c.user).label("user"), access.c.process, events,
               func.count(func.distinct(access.c.path_key)).label("files"),
               func.max(access.c.last).label("last"))
        .where(access.c.pid.is_not(None))
        .group_by(access.c.uid, access.c.process)
        .order_by(events.desc(), access.c.uid, access.c.process).limit(limit),
        path_prefix=path_prefix, since=since, labels=labels, kinds=kinds, uids=(),
        hosts=hosts)
    return [TopActor(r.uid, r.user, r.process, int(r.events), int(r.files), float(r.last))
            for r in conn.execute(stmt)]


# -- The console's access log: filtered, newest first, by keyset --------------------------
@dataclass(frozen=True, slots=True)
class AccessFilter:
    """Every field narrows; a tuple takes any of its values, an empty one all."""

    path_prefix: str | None = None  # at or under, by the path's bytes
    labels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()  # user names; one of digits also matches that uid
    kinds: tuple[str, ...] = ()  # AccessKind values
    since: float | None = None  # last >= since
    until: float | None = None  # last < until


# A range holding this many rows is walked in id order on SQLite rather than read through
# its own index and sorted (see store/alert_pages.py, which does the same for alerts).
_BROAD = 2000


def _is_broad(conn: Connection, condition: ColumnElement[bool]) -> bool:
    probe = select(access.c.id).where(condition).limit(_BROAD).subquery()
    return int(conn.execute(select(func.count()).select_from(probe)).scalar_one()) >= _BROAD


def _window(last: ColumnElement[Any], f: AccessFilter) -> list[ColumnElement[bool]]:
    return [*([last >= f.since] if f.since is not None else []),
            *([last < f.until] if f.until is not None else [])]


def _page_conditions(conn: Connection, f: AccessFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    sqlite = conn.dialect.name == "sqlite"
    if f.path_prefix:
        found.append(under(access.c.path_key, f.path_prefix))
        if sqlite and _is_broad(conn, found[-1]):
            found[-1] = under(func.coalesce(access.c.path_key, access.c.path_key),
                              f.path_prefix)
    if window := _window(access.c.last, f):
        if sqlite and _is_broad(conn, and_(*window)):
            window = _window(func.coalesce(access.c.last, access.c.last), f)
        found += window
    if f.labels:
        # A JSON list: look for the quoted element, as alerts.query does for categories.
        found.append(or_(*(access.c.labels.contains(json.dumps(label), autoescape=True)
                           for label in f.labels)))
    if f.users:
        uids = [int(u) for u in f.users if u.isascii() and u.isdigit()]
        found.append(or_(access.c.user.in_(list(f.users)), access.c.uid.in_(uids)) if uids
                     else access.c.user.in_(list(f.users)))
    if f.kinds:
        found.append(access.c.kind.in_(list(f.kinds)) if len(f.kinds) > 1
                     else access.c.kind == f.kinds[0])
    return found


def _record(r: RowMapping) -> AccessRecord:
    return AccessRecord(path=real(r["path_key"]), kind=AccessKind(r["kind"]),
                        labels=tuple(json.loads(r["labels"])), first=r["first"],
                        last=r["last"], count=r["count"], src_path=r["src_path"],
                        actor=_actor_of(r), id=r["id"], host=r["host"])


def page(conn: Connection, f: AccessFilter, *, before_id: int | None,
         limit: int) -> list[AccessRecord]:
    """Up to ``limit`` records matching ``f``, newest first (by id), below ``before_id``
    (the last id of the page before; None for the first page). No OFFSET."""
    conditions = _page_conditions(conn, f)
    if before_id is not None:
        conditions.append(access.c.id < before_id)
    stmt = select(access).order_by(access.c.id.desc()).limit(limit)
    if conditions:
        stmt = stmt.where(and_(*conditions))
    return [_record(r) for r in conn.execute(stmt).mappings()]


def iter_records(conn: Connection, f: AccessFilter, *,
                 chunk: int = 1000) -> Iterator[AccessRecord]:
    """Every record matching ``f``, newest first, a query per ``chunk`` (exports)."""
    before: int | None = None
    while rows := page(conn, f, before_id=before, limit=chunk):
        yield from rows
        before = rows[-1].id
