"""The labels repository: assignments, their history, and the labels files carry by
content (matches). Every function takes the caller's Connection (its transaction).

One active assignment per (host, path, label): setting it again keeps the first one (its
setter, note and time stand; the second request is in the history), so "who declared
this controlled" has one answer. Removal marks the row (removed, removed_by) and never
deletes it; ``label_history`` is only ever appended to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update

from dlpd.labelling.effective import ancestors
from dlpd.labelling.model import Assignment, HistoryEntry, LabelMatch, setter_of
from dlpd.store.db import upsert
from dlpd.store.paths import display_path, key, real, under
from dlpd.store.schema import (
    LABEL_ACTIVE,
    files,
    fp_sources,
    label_assignments,
    label_history,
    label_matches,
)


def _assignment(row: Mapping[Any, Any]) -> Assignment:
    return Assignment(
        id=int(row["id"]), host=str(row["host"]), path=real(row["path_key"]),
        is_dir=bool(row["is_dir"]), label=str(row["label"]), source=row["source"],
        set_by=str(row["set_by"]), set_uid=int(row["set_uid"]), note=str(row["note"]),
        set_at=float(row["set_at"]),
        removed=None if row["removed"] is None else float(row["removed"]),
        removed_by=None if row["removed_by"] is None else str(row["removed_by"]),
    )


def _active() -> Any:
    return label_assignments.c.removed.is_(None)


def set_label(conn: Connection, *, host: str, path: str, is_dir: bool, label: str,
              source: str, set_by: str, set_uid: int, note: str,
              now: float) -> tuple[Assignment, bool]:
    """The active assignment of ``label`` on ``path`` and whether this call created it
    (False: one stood already and is kept as it was)."""
    values = {"host": host, "path_key": key(path), "path": display_path(path),
              "is_dir": is_dir, "label": label, "source": source, "set_by": set_by,
              "set_uid": set_uid, "note": note, "set_at": now}
    stmt = upsert(conn, label_assignments).values(values).on_conflict_do_nothing(
        index_elements=[label_assignments.c.host, label_assignments.c.path_key,
                        label_assignments.c.label],
        index_where=text(LABEL_ACTIVE),
    )
    created = conn.execute(stmt.returning(label_assignments.c.id)).scalar() is not None
    current = active(conn, host, path, label)
    assert current is not None  # inserted, or stood already: the same transaction
    return current, created


def active(conn: Connection, host: str, path: str, label: str) -> Assignment | None:
    row = conn.execute(select(label_assignments).where(
        label_assignments.c.host == host, label_assignments.c.path_key == key(path),
        label_assignments.c.label == label, _active())).mappings().first()
    return None if row is None else _assignment(row)


def remove_label(conn: Connection, *, host: str, path: str, label: str, removed_by: str,
                 now: float) -> Assignment | None:
    """Mark the active assignment removed; None if there was none."""
    current = active(conn, host, path, label)
    if current is None:
        return None
    conn.execute(update(label_assignments).where(label_assignments.c.id == current.id)
                 .values(removed=now, removed_by=removed_by))
    return replace(current, removed=now, removed_by=removed_by)


def active_for(conn: Connection, host: str, path: str) -> list[Assignment]:
    """Active assignments on ``path`` and on every directory above it: one query, the
    ancestors' keys as an IN list on the path_key index (a path has few ancestors)."""
    keys = [key(p) for p in ancestors(path)]
    rows = conn.execute(select(label_assignments).where(
        label_assignments.c.path_key.in_(keys), label_assignments.c.host == host,
        _active()).order_by(label_assignments.c.id)).mappings()
    return [_assignment(r) for r in rows]


def active_under(conn: Connection, host: str, prefix: str) -> list[Assignment]:
    """Active assignments at or below ``prefix`` (a range on the path_key index)."""
    rows = conn.execute(select(label_assignments).where(
        under(label_assignments.c.path_key, prefix), label_assignments.c.host == host,
        _active()).order_by(label_assignments.c.path_key, label_assignments.c.label)
    ).mappings()
    return [_assignment(r) for r in rows]


def list_active(conn: Connection, host: str, label: str | None = None) -> list[Assignment]:
    """Every active assignment on ``host`` (of ``label``), by path."""
    stmt = select(label_assignments).where(label_assignments.c.host == host, _active())
    if label is not None:
        stmt = stmt.where(label_assignments.c.label == label)
    rows = conn.execute(stmt.order_by(label_assignments.c.path_key,
                                      label_assignments.c.label)).mappings()
    return [_assignment(r) for r in rows]


def append_history(conn: Connection, entry: HistoryEntry) -> None:
    conn.execute(insert(label_history).values(
        time=entry.time, host=entry.host, path_key=key(entry.path),
        path=display_path(entry.path), label=entry.label, action=entry.action,
        allowed=entry.allowed, actor=entry.actor, actor_uid=entry.actor_uid,
        note=entry.note, reason=entry.reason))


def history(conn: Connection, host: str, path: str) -> list[HistoryEntry]:
    """Every decision on ``path``, oldest first (newest last)."""
    rows = conn.execute(select(label_history).where(
        label_history.c.path_key == key(path), label_history.c.host == host)
        .order_by(label_history.c.time, label_history.c.id)).mappings()
    return [HistoryEntry(
        time=float(r["time"]), host=str(r["host"]), path=real(r["path_key"]),
        label=str(r["label"]), action=str(r["action"]), allowed=bool(r["allowed"]),
        actor=str(r["actor"]), actor_uid=r["actor_uid"], note=str(r["note"]),
        reason=r["reason"]) for r in rows]


def replace_matches(conn: Connection, host: str, path: str, sha256: str | None,
                    rows: Sequence[LabelMatch], now: float | None = None) -> None:
    """The file at ``path`` was read again: its content labels are now ``rows``."""
    path_key = key(path)
    conn.execute(delete(label_matches).where(label_matches.c.host == host,
                                             label_matches.c.path_key == path_key))
    if not rows:
        return
    conn.execute(insert(label_matches), [{
        "host": host, "path_key": path_key, "path": display_path(path), "sha256": sha256,
        "label": m.label, "kind": m.kind, "source_id": m.source_id,
        "source_path": None if m.source_path is None else display_path(m.source_path),
        "share": m.share, "rows": m.rows, "score": m.score,
        "found": m.found if now is None else now,
    } for m in rows])


def _origin(raw: object, label: str) -> tuple[str | None, float | None]:
    """Who labelled a fingerprinted source, from its ``origin`` JSON (per label: a mapping
    with ``set_by`` and ``set_at``), when it says so."""
    try:
        origin = json.loads(str(raw))
    except ValueError:
        return None, None
    return setter_of(origin, label) if isinstance(origin, dict) else (None, None)


def matches_for(conn: Connection, host: str, path: str) -> list[LabelMatch]:
    """The content labels of ``path``, with the source's setter where it is registered."""
    stmt = (select(label_matches, fp_sources.c.origin,
                   fp_sources.c.host.label("source_host"))
            .select_from(label_matches.outerjoin(
                fp_sources, fp_sources.c.id == label_matches.c.source_id))
            .where(label_matches.c.host == host, label_matches.c.path_key == key(path))
            .order_by(label_matches.c.label, label_matches.c.kind, label_matches.c.id))
    found = []
    for r in conn.execute(stmt).mappings():
        by, at = _origin(r["origin"], r["label"]) if r["origin"] is not None else (None, None)
        found.append(LabelMatch(
            path=real(r["path_key"]), label=str(r["label"]), kind=r["kind"],
            sha256=r["sha256"], source_id=r["source_id"], source_path=r["source_path"],
            share=r["share"], rows=r["rows"], score=r["score"], found=float(r["found"]),
            set_by=by, set_at=at, source_host=r["source_host"]))
    return found


def last_categories(conn: Connection, host: str, path: str) -> tuple[str, ...]:
    """The categories the last scan of ``path`` on ``host`` found (none if it was never
    scanned)."""
    raw = conn.execute(select(files.c.categories).where(
        files.c.host == host, files.c.path_key == key(path))).scalar()
    try:
        found = json.loads(raw) if raw else []
    except ValueError:
        return ()
    return tuple(str(c) for c in found) if isinstance(found, list) else ()


def active_page(conn: Connection, *, host: str | None = None, label: str | None = None,
                path_prefix: str | None = None, before_id: int | None = None,
                limit: int = 50) -> list[Assignment]:
    """Active assignments on any host (or ``host``), of ``label``, at or under
    ``path_prefix``: newest first, keyset-paged by id (the console's labels page)."""
    stmt = select(label_assignments).where(_active())
    if host:
        stmt = stmt.where(label_assignments.c.host == host)
    if label:
        stmt = stmt.where(label_assignments.c.label == label)
    if path_prefix:
        stmt = stmt.where(under(label_assignments.c.path_key, path_prefix))
    if before_id is not None:
        stmt = stmt.where(label_assignments.c.id < before_id)
    rows = conn.execute(stmt.order_by(label_assignments.c.id.desc()).limit(limit)).mappings()
    return [_assignment(r) for r in rows]
