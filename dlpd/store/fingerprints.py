"""The fingerprint index: labelled sources, their text prints, the stoplist.

A source is a labelled file whose content is registered (its sha256 for exact copies,
its text prints for partial ones; table cells are written by
``dlpd.store.fingerprint_tables`` under the id ``register`` returns). Registering again
replaces everything the source held.

Lookups never scan ``fp_text``: the query's prints go into a temporary table and are
joined to ``fp_text`` by its primary key (print, source_id), the query side first
(``CROSS JOIN`` fixes SQLite's join order, whatever its statistics say; a test reads the
query plan). Prints in ``fp_stop`` (templates: a licence, a lab's report form) and prints
held by more than ``max_df`` sources (boilerplate common to unrelated datasets) are no
evidence; the document frequency is counted in the same statement, on the same index,
and stops counting at ``max_df + 1``, so a very common print costs no more than a rare
one. The cost of a lookup grows with the query's prints and the sources it shares them
with, not with the size of the index.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, text, update

from dlpd.fingerprint.table import TablePrints
from dlpd.fingerprint.text import TextPrints, text_prints
from dlpd.store.paths import display_path, key, real
from dlpd.store.schema import dlpd_meta, fp_cells, fp_sources, fp_stop, fp_text

__all__ = ["CELL_KEY", "DEFAULT_MAX_DF", "Source", "by_sha256", "cell_key", "register",
           "source", "stop_prints", "stop_template", "stoplist", "text_candidates",
           "unregister"]

DEFAULT_MAX_DF = 20
CELL_KEY = "fp_cell_key"
_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Source:
    """A registered labelled file: where it is, what it is, which labels and who set them."""

    id: int
    host: str
    path: str
    sha256: str
    labels: tuple[str, ...]
    origin: Mapping[str, Any]
    kind: str  # text | table | binary
    prints: int
    rows: int
    registered: float


def _source(row: Mapping[Any, Any]) -> Source:
    return Source(id=int(row["id"]), host=str(row["host"]), path=real(row["path_key"]),
                  sha256=str(row["sha256"]), labels=tuple(json.loads(str(row["labels"]))),
                  origin=json.loads(str(row["origin"])), kind=str(row["kind"]),
                  prints=int(row["prints"]), rows=int(row["rows"]),
                  registered=float(row["registered"]))


def register(conn: Connection, *, host: str, path: str, sha256: str, labels: Sequence[str],
             origin: Mapping[str, Any], text: TextPrints | None, table: TablePrints | None,
             now: float) -> int:
    """Register (or re-register) the labelled file ``path``; its previous prints go."""
    kind = "table" if table is not None else "text" if text and text.prints else "binary"
    values = {"path": display_path(path), "sha256": sha256,
              "labels": json.dumps(sorted(set(labels))),
              "origin": json.dumps(origin, sort_keys=True), "kind": kind,
              "prints": len(text.prints) if text else 0,
              "rows": table.rows if table else 0, "registered": now}
    path_key = key(path)
    found = conn.execute(select(fp_sources.c.id).where(
        fp_sources.c.host == host, fp_sources.c.path_key == path_key)).scalar()
    if found is None:
        inserted = conn.execute(insert(fp_sources).values(
            host=host, path_key=path_key, **values)).inserted_primary_key
        if inserted is None:
            raise RuntimeError("fp_sources: no id for the inserted row")
        source_id = int(inserted[0])
    else:
        source_id = int(found)
        _forget_prints(conn, source_id)
        conn.execute(update(fp_sources).where(fp_sources.c.id == source_id).values(**values))
    if text and text.prints:
        rows = [{"print": p, "source_id": source_id} for p in sorted(text.prints)]
        for start in range(0, len(rows), _BATCH):
            conn.execute(insert(fp_text), rows[start:start + _BATCH])
    return source_id


def _forget_prints(conn: Connection, source_id: int) -> None:
    conn.execute(delete(fp_text).where(fp_text.c.source_id == source_id))
    conn.execute(delete(fp_cells).where(fp_cells.c.source_id == source_id))


def unregister(conn: Connection, host: str, path: str) -> bool:
    """Forget the source at ``path`` and its prints; False if it was not registered."""
    found = conn.execute(select(fp_sources.c.id).where(
        fp_sources.c.host == host, fp_sources.c.path_key == key(path))).scalar()
    if found is None:
        return False
    _forget_prints(conn, int(found))
    conn.execute(delete(fp_sources).where(fp_sources.c.id == int(found)))
    return True


def source(conn: Connection, source_id: int) -> Source | None:
    row = conn.execute(select(fp_sources).where(fp_sources.c.id == source_id)).mappings().first()
    return None if row is None else _source(row)


def sources(conn: Connection, source_ids: Iterable[int]) -> dict[int, Source]:
    """Several sources by id (the candidates of one lookup)."""
    ids = sorted(set(source_ids))
    found: dict[int, Source] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(fp_sources).where(
            fp_sources.c.id.in_(ids[start:start + 500]))).mappings()
        found.update((int(row["id"]), _source(row)) for row in rows)
    return found


def any_source(conn: Connection) -> bool:
    """Whether any labelled file is registered (on any host: copies cross hosts)."""
    return bool(conn.execute(select(exists().where(fp_sources.c.id.is_not(None)))).scalar())


def registered_paths(conn: Connection, host: str) -> set[str]:
    """The paths of this host's registered sources."""
    rows = conn.execute(select(fp_sources.c.path_key).where(fp_sources.c.host == host))
    return {real(r.path_key) for r in rows}


def by_sha256(conn: Connection, sha256: str) -> list[Source]:
    """Every registered source with this content: a file with it is a copy of each."""
    rows = conn.execute(select(fp_sources).where(fp_sources.c.sha256 == sha256)
                        .order_by(fp_sources.c.id)).mappings()
    return [_source(row) for row in rows]


_CANDIDATES = text("""
SELECT t.source_id AS source_id, count(*) AS shared
FROM temp.fp_query AS q CROSS JOIN fp_text AS t ON t.print = q.print
WHERE NOT EXISTS (SELECT 1 FROM fp_stop AS s WHERE s.print = q.print AND s.kind = 'text')
  AND (SELECT count(*) FROM (SELECT 1 FROM fp_text AS d WHERE d.print = q.print
                             LIMIT :cap)) <= :max_df
GROUP BY t.source_id
ORDER BY shared DESC, t.source_id
""")


def text_candidates(conn: Connection, prints: Iterable[int], *,
                    max_df: int = DEFAULT_MAX_DF) -> list[tuple[int, int]]:
    """(source id, prints shared with the query) for every source sharing any print that
    is neither stoplisted nor held by more than ``max_df`` sources; most shared first."""
    if max_df < 1:
        raise ValueError("max_df must be at least 1")
    query = sorted(set(prints))
    if not query:
        return []
    _fill_query(conn, query)
    try:
        rows = conn.execute(_CANDIDATES, {"cap": max_df + 1, "max_df": max_df}).all()
    finally:
        conn.exec_driver_sql("DELETE FROM temp.fp_query")
    return [(int(r.source_id), int(r.shared)) for r in rows]


def _fill_query(conn: Connection, query: Sequence[int]) -> None:
    # A temporary table lives in its own connection's temp schema: other connections and
    # the main schema (migrations) never see it.
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS fp_query "
                         "(print INTEGER PRIMARY KEY)")
    conn.exec_driver_sql("DELETE FROM temp.fp_query")
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("no DB-API connection")
    raw.executemany("INSERT INTO temp.fp_query (print) VALUES (?)", ((p,) for p in query))


def stop_prints(conn: Connection, prints: Iterable[int], reason: str,
                kind: str = "text") -> int:
    """Stoplist ``prints`` (kept once; the first reason stays); the number newly added."""
    wanted = sorted(set(prints))
    added = 0
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        known = set(conn.execute(select(fp_stop.c.print).where(
            fp_stop.c.kind == kind, fp_stop.c.print.in_(chunk))).scalars())
        rows = [{"print": p, "kind": kind, "reason": reason} for p in chunk if p not in known]
        if rows:
            conn.execute(insert(fp_stop), rows)
            added += len(rows)
    return added


def stop_template(conn: Connection, template: str, reason: str = "template") -> int:
    """A known template (a licence text, a lab's report form): none of its prints is
    evidence any more. The template's text itself is not stored."""
    return stop_prints(conn, text_prints(template).prints, reason)


def stoplist(conn: Connection, kind: str = "text") -> dict[str, int]:
    """How many prints are stoplisted, by reason."""
    rows = conn.execute(text("SELECT reason, count(*) FROM fp_stop WHERE kind = :kind "
                             "GROUP BY reason"), {"kind": kind}).all()
    return {str(reason): int(count) for reason, count in rows}


def cell_key(conn: Connection) -> bytes:
    """The installation's key for keyed cell hashes: random, made on first use, kept in
    ``dlpd_meta`` so that every daemon sharing the store hashes cells alike."""
    found = conn.execute(select(dlpd_meta.c.value).where(dlpd_meta.c.name == CELL_KEY)).scalar()
    if found is not None:
        return bytes(found)
    fresh = os.urandom(32)
    conn.execute(insert(dlpd_meta).prefix_with("OR IGNORE", dialect="sqlite"),
                 {"name": CELL_KEY, "value": fresh})
    return bytes(conn.execute(select(dlpd_meta.c.value)
                              .where(dlpd_meta.c.name == CELL_KEY)).scalar_one())
