"""Table prints in the store: register a labelled table's cells and pair prints, and find
the labelled tables a scanned table takes rows from.

``fp_cells`` holds, per source, two kinds of prints in one key space (their hashes are
domain-separated, see ``dlpd.fingerprint.table``): cell prints with the number of the
source's rows holding the cell, and pair prints (two anchor cells of one row) with the
number of rows holding the pair. Every lookup goes through the table's primary key
(print, source_id): the query's prints, a bounded list at a time, never a scan of the
index, whose size grows with every labelled table.

The source row itself is ``dlpd.store.fingerprints.register``'s (which also keeps the key,
``cell_key``); ``register_table`` adds the table prints under the id it returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, TypeVar

from sqlalchemy import Connection, delete, func, insert, select, update

from dlpd.fingerprint.table import TablePrints, pair_plan, score, source_pairs
from dlpd.store.schema import fp_cells, fp_sources, fp_stop

# A cell held by more labelled tables than this is a common value ("2024", "control",
# "ok"), not evidence of any one of them: left out of lookups (and never fetched).
MAX_SOURCES_PER_CELL = 64
MAX_CANDIDATES = 16  # sources, by cell evidence, whose pair prints a lookup asks for
MIN_SHARED_CELLS = 2
_T = TypeVar("_T")
_CHUNK = 500  # bound parameters per statement (SQLite allows 32766; plans stay cached)


class TableCandidate(NamedTuple):
    """A labelled table that a scanned table shares rows with (see ``TableScore``)."""

    source_id: int
    rows: int  # query rows found as rows of the source
    score: float  # bits of evidence of those rows


def register_table(conn: Connection, source_id: int, prints: TablePrints) -> int:
    """Replace the table prints of source ``source_id`` (its cells and its rows' pair
    prints); the number of prints. ``fp_sources.rows`` is set to ``prints.rows`` as well
    (``register`` writes the same): every weight log2(N/df) needs the N the counts are of."""
    entries = dict(source_pairs(prints))
    entries.update(prints.cells)  # on a 63-bit collision the cell wins; nothing breaks
    conn.execute(delete(fp_cells).where(fp_cells.c.source_id == source_id))
    rows = [{"print": p, "source_id": source_id, "rows": n} for p, n in entries.items()]
    for chunk in _chunks(rows, 5000):
        conn.execute(insert(fp_cells), chunk)
    conn.execute(update(fp_sources).where(fp_sources.c.id == source_id)
                 .values(rows=prints.rows))
    return len(rows)


def table_candidates(conn: Connection, prints: TablePrints) -> list[TableCandidate]:
    """Labelled tables whose rows ``prints`` holds, most rows first; only those with at
    least one matching row (``TableScore.is_derived`` says whether there are enough)."""
    cells = set(prints.cells) - _stopped(conn, prints.cells)
    by_source = _shared_cells(conn, cells)
    if not by_source:
        return []
    sizes = dict(conn.execute(
        select(fp_sources.c.id, fp_sources.c.rows).where(fp_sources.c.id.in_(list(by_source)))
    ).all())

    def cell_bits(item: tuple[int, dict[int, int]]) -> float:
        n = sizes.get(item[0], 0)
        return sum(math.log2(n / df) for df in item[1].values() if 0 < df < n)

    ranked = sorted(
        (item for item in by_source.items()
         if len(item[1]) >= MIN_SHARED_CELLS and sizes.get(item[0], 0) > 0),
        key=lambda item: (-cell_bits(item), item[0]),
    )[:MAX_CANDIDATES]
    found: list[TableCandidate] = []
    for source_id, df in ranked:
        n = sizes[source_id]
        plans = pair_plan(prints, df, n)
        if not plans:
            continue
        wanted = {p for _, pairs in plans for p in pairs}
        held = _held(conn, source_id, wanted)
        result = score(plans, held, df, n, shared=len(df))
        if result.rows:
            found.append(TableCandidate(source_id, result.rows, result.score))
    found.sort(key=lambda c: (-c.rows, -c.score, c.source_id))
    return found


def _stopped(conn: Connection, prints: Iterable[int]) -> set[int]:
    stopped: set[int] = set()
    for chunk in _chunks(list(prints), _CHUNK):
        stopped.update(conn.execute(
            select(fp_stop.c.print).where(fp_stop.c.kind == "cell", fp_stop.c.print.in_(chunk))
        ).scalars())
    return stopped


def _shared_cells(conn: Connection, cells: Iterable[int]) -> dict[int, dict[int, int]]:
    """Source id -> {cell print: rows of the source holding it}, over the cells held by
    at most ``MAX_SOURCES_PER_CELL`` sources (counted on the index before fetching)."""
    by_source: dict[int, dict[int, int]] = {}
    for chunk in _chunks(list(cells), _CHUNK):
        rare = [p for p, n in conn.execute(
            select(fp_cells.c.print, func.count())
            .where(fp_cells.c.print.in_(chunk)).group_by(fp_cells.c.print)
        ) if n <= MAX_SOURCES_PER_CELL]
        if not rare:
            continue
        for p, source_id, n in conn.execute(
            select(fp_cells.c.print, fp_cells.c.source_id, fp_cells.c.rows)
            .where(fp_cells.c.print.in_(rare))
        ):
            by_source.setdefault(source_id, {})[p] = n
    return by_source


def _held(conn: Connection, source_id: int, wanted: Iterable[int]) -> set[int]:
    held: set[int] = set()
    for chunk in _chunks(list(wanted), _CHUNK):
        held.update(conn.execute(
            select(fp_cells.c.print)
            .where(fp_cells.c.source_id == source_id, fp_cells.c.print.in_(chunk))
        ).scalars())
    return held


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


__all__ = ["TableCandidate", "register_table", "table_candidates"]
