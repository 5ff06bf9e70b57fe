"""Table fingerprints in the manner of Exact Data Match: keyed hashes of canonical cells,
and evidence that a row of one table is a row of another. Pure: standard library only.

A table row is too short for any text-fingerprint guarantee (winnowing needs k characters
in a row; a row is "k17-r00412, 2026-11-02, 1.85, 412.7"), and an extract reorders rows,
drops columns and moves between CSV and spreadsheets. So a table is fingerprinted cell by
cell: each cell canonicalised (``canonical_cell``: NFKC, casefold, 72.40 -> 72.4, ISO
dates) and hashed with the installation's secret key (blake2b, 8 bytes, 63 bits), so the
index never holds a guessable hash of a patient's name.

What makes the match precise is co-occurrence. Cells alone are weak: an independent table
drawn from the same value distributions shares most of its cells with the source (the
same dates, the same instrument settings, even the same identifiers), only never several
rare ones *in one row*. The index cannot hold row numbers (a row number of the source says
nothing to a query), so each source row registers *pair prints*: the hash of each pair
of its ``K_ANCHORS`` rarest cells (rarest within the source: fewest rows holding them).
A query row, looked up against one candidate source, picks its own rarest cells by that
source's counts; a row copied from the source (minus a dropped column) picks the same
cells, or all but one, and its pairs are found. Cells of the query row that pairwise
co-occur form a clique; its evidence is the sum of log2(N/df) over its cells (N source
rows, df rows holding the cell), the Exact Data Match weight: rare cells weigh more.

Under independence the number of source rows that hold all the cells of a clique by
chance is N * 2**-evidence, so a row matches when evidence - log2(N) reaches
``ROW_EXCESS_BITS``; with at most 57 cliques per row (six anchors) that is under 1 chance
row in 290,000 query rows, and a table needs ``MIN_ROWS`` such rows. Measured
(tests/fingerprint/test_table_match.py data): every one of 5,000 rows, with any one of its 9
columns dropped, clears the bar by 1.3 bits or more; of 20,000 rows resampled from the
source's own column distributions none does, the best chance clique 7 bits below it.
The cost: in a source of N rows a row needs anchors of about log2(N) bits each, so under
~100 rows only rows with all their rare cells are recognised (log2(N/df) is a modest weight
when N is small); exact copies are still found by sha256.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from itertools import chain, combinations, islice

from dlpd.fingerprint.cells import canonical

PRINT_MASK = (1 << 63) - 1  # SQLite's INTEGER is signed 64-bit
K_ANCHORS = 6  # rarest cells per row whose pairs are registered (15 pair prints a row)
ROW_EXCESS_BITS = 24.0  # evidence - log2(N) a clique needs: < 2**-24 chance rows each
MIN_ROWS = 3  # query rows matching source rows for a table to be derived
MAX_ROWS = 100_000  # rows read from a delimited text
MAX_COLUMNS = 64  # cells read from one row; wider rows are cut
MAX_CELLS = 2_000_000  # cells of evidence read from one table
_MEMO = 200_000  # distinct values remembered while reading (then forgotten, not grown)
_HEADER_SAMPLE = 20  # rows under the first that tell a header from data
# -- Prints ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TablePrints:
    """The fingerprint of a table: integers only, never a cell.

    ``rows``: data rows with two or more cells of evidence (a header row is not one).
    ``cells``: cell print -> number of those rows holding it.
    ``row_cells``: each such row's distinct cell prints, in row order.
    ``header``: a header row was recognised and left out. ``cut``: ``max_rows`` was hit.
    """

    rows: int
    cells: Mapping[int, int]
    row_cells: tuple[tuple[int, ...], ...]
    header: bool = False
    cut: bool = False


def cell_print(cell: str, key: bytes) -> int:
    """The keyed hash of a canonical cell, in [0, 2**63)."""
    digest = hashlib.blake2b(cell.encode("utf-8", "surrogatepass"), digest_size=8, key=key,
                             person=b"dlpd-cell").digest()
    return int.from_bytes(digest, "big") & PRINT_MASK


def pair_print(a: int, b: int) -> int:
    """The print of two cells in one row (either order): a 64-bit mix (splitmix64's
    finaliser) of the two. Not a keyed hash again: its inputs are keyed prints, uniform and
    unknowable without the key, and a lookup makes ~15 of these a row (blake2b would be
    most of its time)."""
    low, high = (a, b) if a < b else (b, a)
    x = (low * _GOLDEN + high) & _M64
    x = ((x ^ (x >> 30)) * _MIX1) & _M64
    x = ((x ^ (x >> 27)) * _MIX2) & _M64
    return (x ^ (x >> 31)) & PRINT_MASK


_M64 = (1 << 64) - 1
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def table_prints(rows: Iterable[Sequence[str]], key: bytes, *, max_rows: int = MAX_ROWS
                 ) -> TablePrints:
    """Fingerprint ``rows`` (cells as text); a first row that reads as a header is skipped.
    At most ``max_rows`` rows after it and ``MAX_CELLS`` cells in all are read (``cut``)."""
    canon = _Canonicaliser()
    source = iter(rows)
    head = [canon.row(r) for r in islice(source, _HEADER_SAMPLE + 1)]
    header = bool(head) and _is_header(head[0], head[1:])
    body = chain(head[1:] if header else head, map(canon.row, source))
    prints: dict[str, int] = {}
    row_cells: list[tuple[int, ...]] = []
    counts: Counter[int] = Counter()
    cut = False
    for read, cells in enumerate(body):
        if read >= max_rows or canon.cells > MAX_CELLS:
            cut = True
            break
        distinct: dict[int, None] = {}
        for text, _ in cells:
            p = prints.get(text)
            if p is None:
                if len(prints) >= _MEMO:
                    prints.clear()
                p = prints[text] = cell_print(text, key)
            distinct[p] = None
        if len(distinct) >= 2:
            cells_of_row = tuple(distinct)
            row_cells.append(cells_of_row)
            counts.update(cells_of_row)
    return TablePrints(rows=len(row_cells), cells=dict(counts), row_cells=tuple(row_cells),
                       header=header, cut=cut)


class _Canonicaliser:
    """Canonical cells of rows, each distinct raw value worked out once (a column of a
    few settings repeats them thousands of times); counts the cells it has read."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[str | None, bool]] = {}
        self.cells = 0

    def row(self, row: Sequence[str]) -> list[tuple[str, bool]]:
        memo = self._memo
        out = []
        for raw in row[:MAX_COLUMNS]:
            found = memo.get(raw)
            if found is None:
                if len(memo) >= _MEMO:
                    memo.clear()
                found = memo[raw] = canonical(raw)
            text, typed = found
            if text is not None:
                out.append((text, typed))
        self.cells += len(out)
        return out


def _is_header(first: Sequence[tuple[str, bool]], sample: Sequence[Sequence[tuple[str, bool]]]
               ) -> bool:
    """A first row of distinct words, none a number or a date, above rows that mostly hold
    one.

    Headers are common across unrelated tables ("date", "sample", "value"): as a row they
    would be the one row two such tables share. A table of text only keeps its first row
    (it cannot be told from data); ``MIN_ROWS`` keeps a shared header from matching.
    """
    if len(first) < 2 or any(typed for _, typed in first) or not sample:
        return False
    if len({text for text, _ in first}) < len(first):
        return False
    typed_rows = sum(1 for row in sample if any(typed for _, typed in row))
    return typed_rows * 2 >= len(sample)


# -- Evidence -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TableScore:
    """How much of a query table is rows of one source table.

    ``rows``: query rows whose cells co-occur in one source row with enough evidence.
    ``score``: bits of evidence, log2(N/df) summed over the distinct cells of those rows'
    matching cliques. ``shared``: distinct query cells found in the source at all.
    """

    rows: int
    score: float
    shared: int

    @property
    def is_derived(self) -> bool:
        return self.rows >= MIN_ROWS


RowPlan = tuple[tuple[int, ...], tuple[int, ...]]  # (anchor cells, their pair prints)


def _cliques(n: int) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Subsets of ``n`` anchors (two or more), each with the bit mask of the pairs it
    needs (bit i: the i-th pair of ``combinations(cells, 2)``)."""
    pairs = list(combinations(range(n), 2))
    return tuple(
        (members, sum(1 << i for i, pair in enumerate(pairs) if set(pair) <= set(members)))
        for size in range(2, n + 1) for members in combinations(range(n), size)
    )


_CLIQUES = {n: _cliques(n) for n in range(2, K_ANCHORS + 1)}


def anchors(cells: Iterable[int], df: Mapping[int, int], k: int = K_ANCHORS) -> tuple[int, ...]:
    """The ``k`` rarest of ``cells`` that ``df`` holds (fewest rows, then lowest print)."""
    present = [(df[c], c) for c in cells if c in df]
    present.sort()
    return tuple(c for _, c in present[:k])


def _pairs(cells: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(pair_print(a, b) for a, b in combinations(cells, 2))


def source_pairs(prints: TablePrints) -> dict[int, int]:
    """Pair print -> rows holding it, over the anchors of each row: what a source registers."""
    counts: Counter[int] = Counter()
    for row in prints.row_cells:
        counts.update(set(_pairs(anchors(row, prints.cells))))
    return dict(counts)


def pair_plan(rows: Iterable[tuple[int, ...]], df: Mapping[int, int], source_rows: int
              ) -> tuple[RowPlan, ...]:
    """Per query row (its cell prints) that could match a source with ``source_rows`` rows
    and cell counts ``df``: its anchors by that source's counts and their pair prints. Rows
    whose anchors together cannot reach the evidence bar are left out (no lookup can help
    them)."""
    bar = math.log2(source_rows) + ROW_EXCESS_BITS if source_rows > 0 else math.inf
    plans = []
    for row in rows:
        cells = anchors(row, df)
        if len(cells) >= 2 and sum(_weight(source_rows, df[c]) for c in cells) >= bar:
            plans.append((cells, _pairs(cells)))
    return tuple(plans)


def score(plans: Sequence[RowPlan], found: Set[int], df: Mapping[int, int], source_rows: int,
          shared: int) -> TableScore:
    """Rows of the query that are rows of the source, given which pair prints ``found``
    the source holds."""
    bar = math.log2(source_rows) + ROW_EXCESS_BITS if source_rows > 0 else math.inf
    matched = 0
    evidence_cells: set[int] = set()
    for cells, pairs in plans:
        best, members = _best_clique(cells, pairs, found, df, source_rows)
        if best >= bar:
            matched += 1
            evidence_cells.update(members)
    bits = sum(_weight(source_rows, df[c]) for c in evidence_cells)
    return TableScore(rows=matched, score=round(bits, 3), shared=shared)


def _best_clique(cells: tuple[int, ...], pairs: tuple[int, ...], found: Set[int],
                 df: Mapping[int, int], source_rows: int) -> tuple[float, tuple[int, ...]]:
    """The heaviest set of anchors that pairwise co-occur in the source."""
    have = sum(1 << i for i, p in enumerate(pairs) if p in found)
    if not have:
        return 0.0, ()
    weights = [_weight(source_rows, df[c]) for c in cells]
    best: tuple[float, tuple[int, ...]] = (0.0, ())
    for members, needed in _CLIQUES[len(cells)]:
        if have & needed == needed:
            bits = sum(weights[i] for i in members)
            if bits > best[0]:
                best = (bits, tuple(cells[i] for i in members))
    return best


def _weight(source_rows: int, df: int) -> float:
    return math.log2(source_rows / df) if 0 < df < source_rows else 0.0
