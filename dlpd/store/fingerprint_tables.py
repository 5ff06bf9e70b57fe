"""Table prints in the store: register a labelled table's cells and pair prints, and find
the labelled tables a scanned table takes rows from.

``fp_cells`` holds, per source, two kinds of prints in one 63-bit key space (see
``dlpd.fingerprint.table``; a cell print and a pair print meet with odds of 2**-63): cell
prints with the number of the source's rows holding the cell, and pair prints (two anchor
cells of one row) with the number of rows holding the pair. Every lookup joins the
query's prints (in a temporary table) to the primary key (print, source_id): never a scan
of the index, whose size grows with every labelled table.

The source row itself is ``dlpd.store.fingerprints.register``'s (which also keeps the key,
``cell_key``); ``register_table`` adds the table prints under the id it returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, TypeVar

from sqlalchemy import Connection, TableClause, column, delete, insert, select, table, text, update

from dlpd.fingerprint.table import MIN_ROWS, TablePrints, pair_plan, score, source_pairs
from dlpd.store.schema import fp_cells, fp_sources

# A cell held by more labelled tables than this is a common value ("2024", "control",
# "ok"), not evidence of any one of them: left out of lookups (and never fetched).
MAX_SOURCES_PER_CELL = 64
MAX_CANDIDATES = 8  # sources, by rare cells shared, a lookup weighs row by row
MIN_SHARED_CELLS = 2
_T = TypeVar("_T")
_BATCH = 5000  # rows per executemany
_IDS = 500  # source ids per IN list


class TableCandidate(NamedTuple):
    """A labelled table that a scanned table shares rows with (see ``TableScore``)."""

    source_id: int
    rows: int  # query rows found as rows of the source
    score: float  # bits of evidence of those rows

    @property
    def is_derived(self) -> bool:
        """Enough rows that the scanned table is derived from the source."""
        return self.rows >= MIN_ROWS


def register_table(conn: Connection, source_id: int, prints: TablePrints) -> int:
    """Replace the table prints of source ``source_id`` (its cells and its rows' pair
    prints); the number of prints. ``fp_sources.rows`` is set to ``prints.rows`` as well
    (``register`` writes the same): every weight log2(N/df) needs the N the counts are of."""
    entries = dict(source_pairs(prints))
    entries.update(prints.cells)  # on a 63-bit collision the cell wins; nothing breaks
    conn.execute(delete(fp_cells).where(fp_cells.c.source_id == source_id))
    rows = [{"print": p, "source_id": source_id, "rows": n} for p, n in entries.items()]
    for chunk in _chunks(rows, _BATCH):
        conn.execute(insert(fp_cells), chunk)
    conn.execute(update(fp_sources).where(fp_sources.c.id == source_id)
                 .values(rows=prints.rows))
    return len(rows)


def table_candidates(conn: Connection, prints: TablePrints) -> list[TableCandidate]:
    """Labelled tables whose rows ``prints`` holds, most rows first; only those with at
    least one matching row (``is_derived`` says whether there are enough).

    Candidates come from the query's rare cells (held by at most ``MAX_SOURCES_PER_CELL``
    sources, not stoplisted): every copied row has some. For each of the best
    ``MAX_CANDIDATES``, the rows holding one of its rare cells are weighed in full: the
    source's counts of all their cells (a date shared by many tables is still evidence
    inside one), then their pair prints. Three statements in all, each a join of the
    query's prints (a temporary table) to the index's primary key.
    """
    rare = _rare_cells(conn, prints.cells)
    if not rare:
        return []
    sizes = {int(i): int(n) for chunk in _chunks(sorted(rare), _IDS)
             for i, n in conn.execute(select(fp_sources.c.id, fp_sources.c.rows)
                                      .where(fp_sources.c.id.in_(chunk)))}
    candidates = _ranked(rare, sizes)
    rows_of = {sid: [row for row in prints.row_cells if not shared.keys().isdisjoint(row)]
               for sid, shared in candidates}
    counts = _probe(conn, [(sid, c) for sid, shared in candidates
                           for c in {c for row in rows_of[sid] for c in row} - shared.keys()],
                    cells=True)
    plans = {}
    for sid, shared in candidates:
        df = dict(shared)
        df.update(counts.get(sid, {}))
        plans[sid] = (df, pair_plan(rows_of[sid], df, sizes[sid]))
    held = _probe(conn, [(sid, p) for sid, (_, plan) in plans.items()
                         for _, pairs in plan for p in pairs], cells=False)
    found: list[TableCandidate] = []
    for sid, shared in candidates:
        df, plan = plans[sid]
        result = score(plan, held.get(sid, {}).keys(), df, sizes[sid], shared=len(shared))
        if result.rows:
            found.append(TableCandidate(sid, result.rows, result.score))
    found.sort(key=lambda c: (-c.rows, -c.score, c.source_id))
    return found


def _ranked(rare: dict[int, dict[int, int]], sizes: dict[int, int]
            ) -> list[tuple[int, dict[int, int]]]:
    """The ``MAX_CANDIDATES`` sources with the most bits of rare cells shared."""
    def bits(item: tuple[int, dict[int, int]]) -> float:
        n = sizes.get(item[0], 0)
        return sum(math.log2(n / df) for df in item[1].values() if 0 < df < n)

    eligible = [item for item in rare.items()
                if len(item[1]) >= MIN_SHARED_CELLS and sizes.get(item[0], 0) > 0]
    return sorted(eligible, key=lambda item: (-bits(item), item[0]))[:MAX_CANDIDATES]


# The query's prints go into temporary tables (the connection's own temp schema: other
# connections and the migrations never see them) and are joined to fp_cells' primary key.
# They are read whole, once, so they have no key of their own: rows are appended unsorted
# (distinct already), which is most of the cost saved.
# Rare cells: the sources holding each are counted once per cell, and only up to the bound.
_RARE_CELLS = text("""
SELECT c.print AS print, c.source_id AS source_id, c.rows AS rows
FROM fp_cell_query AS q CROSS JOIN fp_cells AS c ON c.print = q.print
WHERE NOT EXISTS (SELECT 1 FROM fp_stop AS s WHERE s.print = q.print AND s.kind = 'cell')
  AND (SELECT count(*) FROM (SELECT 1 FROM fp_cells AS d WHERE d.print = q.print
                             LIMIT :cap)) <= :max_sources
""")
_PROBE_CELLS = text("""
SELECT c.source_id AS source_id, c.print AS print, c.rows AS rows
FROM fp_cell_probe AS q CROSS JOIN fp_cells AS c
  ON c.print = q.print AND c.source_id = q.source_id
WHERE NOT EXISTS (SELECT 1 FROM fp_stop AS s WHERE s.print = q.print AND s.kind = 'cell')
""")
_PROBE_PAIRS = text("""
SELECT c.source_id AS source_id, c.print AS print, c.rows AS rows
FROM fp_cell_probe AS q CROSS JOIN fp_cells AS c
  ON c.print = q.print AND c.source_id = q.source_id
""")
_QUERY = table("fp_cell_query", column("print"))
_PROBE = table("fp_cell_probe", column("source_id"), column("print"))


def _rare_cells(conn: Connection, cells: Iterable[int]) -> dict[int, dict[int, int]]:
    """Source id -> {cell print: rows of the source holding it} over the query's cells
    that are neither stoplisted nor held by more than ``MAX_SOURCES_PER_CELL`` sources."""
    query = list(set(cells))
    if not query:
        return {}
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS fp_cell_query (print BIGINT)")
    conn.execute(delete(_QUERY))
    by_source: dict[int, dict[int, int]] = {}
    try:
        _fill(conn, _QUERY, [(p,) for p in query])
        for p, source_id, n in conn.execute(
                _RARE_CELLS, {"cap": MAX_SOURCES_PER_CELL + 1,
                              "max_sources": MAX_SOURCES_PER_CELL}):
            by_source.setdefault(int(source_id), {})[int(p)] = int(n)
    finally:
        conn.execute(delete(_QUERY))
    return by_source


def _probe(conn: Connection, wanted: Sequence[tuple[int, int]], *, cells: bool
           ) -> dict[int, dict[int, int]]:
    """Source id -> {print: rows} for the (source id, print) pairs of ``wanted`` that the
    index holds; ``cells``: leave out stoplisted cells."""
    if not wanted:
        return {}
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS fp_cell_probe "
                         "(source_id INTEGER, print BIGINT)")
    conn.execute(delete(_PROBE))
    out: dict[int, dict[int, int]] = {}
    try:
        _fill(conn, _PROBE, list(set(wanted)))
        for source_id, p, n in conn.execute(_PROBE_CELLS if cells else _PROBE_PAIRS):
            out.setdefault(int(source_id), {})[int(p)] = int(n)
    finally:
        conn.execute(delete(_PROBE))
    return out


def _fill(conn: Connection, temp: TableClause, rows: Sequence[tuple[int, ...]]) -> None:
    """Insert ``rows`` into a temporary table: through the SQLite driver directly when it is
    SQLite (SQLAlchemy's per-row parameter handling would be most of a lookup's time)."""
    raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
    if raw is not None:
        raw.executemany(_RAW_INSERT[temp.name], rows)
        return
    for chunk in _chunks(rows, _BATCH):
        conn.execute(insert(temp), [dict(zip(temp.columns.keys(), r, strict=True))
                                    for r in chunk])


_RAW_INSERT = {
    "fp_cell_query": "INSERT INTO fp_cell_query (print) VALUES (?)",
    "fp_cell_probe": "INSERT INTO fp_cell_probe (source_id, print) VALUES (?, ?)",
}


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


__all__ = ["TableCandidate", "register_table", "table_candidates"]
