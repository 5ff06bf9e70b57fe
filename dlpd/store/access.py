"""The access-log repository: aggregated file events on labelled files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, or_, select, update

from dlpd.store.schema import access


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """``count`` events of ``kind`` on ``path`` by one actor between ``first`` and ``last``."""

    path: str
    kind: str
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
        return {"id": self.id, "path": self.path, "kind": self.kind, "src_path": self.src_path,
                "labels": list(self.labels), "first": self.first, "last": self.last,
                "count": self.count, "pid": self.pid, "uid": self.uid, "process": self.process}


def insert_record(conn: Connection, record: AccessRecord) -> int:
    result = conn.execute(insert(access).values(
        path=record.path, kind=record.kind, src_path=record.src_path, pid=record.pid,
        uid=record.uid, process=record.process, labels=json.dumps(list(record.labels)),
        first=record.first, last=record.last, count=record.count))
    return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0


def add_repeats(conn: Connection, record_id: int, repeats: int, last: float) -> None:
    conn.execute(update(access).where(access.c.id == record_id).values(
        count=access.c.count + repeats, last=last))


def query(conn: Connection, *, path_prefix: str | None = None, since: float | None = None,
          labels: Sequence[str] = (), limit: int | None = None) -> list[AccessRecord]:
    stmt = select(access).order_by(access.c.id)
    if path_prefix:
        prefix = path_prefix.rstrip("/")
        stmt = stmt.where((access.c.path == prefix)
                          | access.c.path.startswith(prefix + "/", autoescape=True))
    if since is not None:
        stmt = stmt.where(access.c.last >= since)
    if labels:
        # Labels are a JSON list; match the quoted name so "pii" does not match "pii-x".
        stmt = stmt.where(or_(*(access.c.labels.contains(json.dumps(label))
                                for label in labels)))
    if limit:
        stmt = stmt.order_by(None).order_by(access.c.id.desc()).limit(limit)
    rows = sorted(conn.execute(stmt).mappings(), key=lambda r: int(r["id"]))
    return [AccessRecord(path=r["path"], kind=r["kind"], labels=tuple(json.loads(r["labels"])),
                         first=r["first"], last=r["last"], count=r["count"],
                         src_path=r["src_path"], pid=r["pid"], uid=r["uid"],
                         process=r["process"], id=r["id"]) for r in rows]
