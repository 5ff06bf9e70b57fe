"""The access-log repository: aggregated file events on labelled files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from dlpd.model import AccessKind, path_fields
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
    pid: int | None = None
    uid: int | None = None
    process: str | None = None
    id: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, **path_fields(self.path), "kind": str(self.kind),
                "src_path": None if self.src_path is None else display_path(self.src_path),
                "labels": list(self.labels), "first": self.first, "last": self.last,
                "count": self.count, "pid": self.pid, "uid": self.uid, "process": self.process}


def insert_records(conn: Connection, records: Sequence[AccessRecord]) -> list[int]:
    """Insert in one statement; the new ids, in the order of ``records``."""
    if not records:
        return []
    rows = [{"path_key": key(r.path), "path": display_path(r.path), "kind": str(r.kind),
             "src_path": None if r.src_path is None else display_path(r.src_path), "pid": r.pid,
             "uid": r.uid, "process": r.process, "labels": json.dumps(list(r.labels)),
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


def query(conn: Connection, *, path_prefix: str | None = None, since: float | None = None,
          labels: Sequence[str] = (), kinds: Sequence[AccessKind] = (),
          limit: int | None = None) -> list[AccessRecord]:
    stmt = select(access).order_by(access.c.id)
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
    if limit:
        stmt = stmt.order_by(None).order_by(access.c.id.desc()).limit(limit)
    rows = sorted(conn.execute(stmt).mappings(), key=lambda r: int(r["id"]))
    return [AccessRecord(path=real(r["path_key"]), kind=AccessKind(r["kind"]),
                         labels=tuple(json.loads(r["labels"])),
                         first=r["first"], last=r["last"], count=r["count"],
                         src_path=r["src_path"], pid=r["pid"], uid=r["uid"],
                         process=r["process"], id=r["id"]) for r in rows]
