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

import csv
import hashlib
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from itertools import chain, combinations, islice

PRINT_MASK = (1 << 63) - 1  # SQLite's INTEGER is signed 64-bit
K_ANCHORS = 6  # rarest cells per row whose pairs are registered (15 pair prints a row)
ROW_EXCESS_BITS = 24.0  # evidence - log2(N) a clique needs: < 2**-24 chance rows each
MIN_ROWS = 3  # query rows matching source rows for a table to be derived
MAX_ROWS = 100_000  # rows read from a delimited text
MAX_COLUMNS = 64  # cells read from one row; wider rows are cut
MAX_CELLS = 2_000_000  # cells of evidence read from one table
_MEMO = 200_000  # distinct values remembered while reading (then forgotten, not grown)
_HEADER_SAMPLE = 20  # rows under the first that tell a header from data
MAX_CELL_CHARS = 512  # longer cells are cut before canonicalisation (bounds its cost)
SNIFF_CHARS = 16 * 1024
MIN_TABLE_ROWS = 3
_DELIMITERS = ",\t;|"
_SIGNIFICANT = 15  # digits a spreadsheet keeps of a float: 72.400000000000006 is 72.4
_MAX_EXPONENT_DIGITS = 3
_PLAIN_RANGE = range(-20, 21)  # adjusted exponents written without an exponent

# -- Canonical cells ------------------------------------------------------------------
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# Cells that say nothing about where a row came from: placeholders, booleans, errors.
_NO_EVIDENCE = frozenset({
    "", "-", "--", "---", "\u2014", "\u2013", "n/a", "na", "n.a.", "null", "none", "nan",
    "nil", "?", "true", "false", "yes", "no", "#n/a", "#div/0!", "#value!", "#ref!",
    "#name?", "#num!", "#null!",
})
_US_NUMBER = re.compile(
    r"([+-]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?)(?:\.([0-9]+))?(?:e([+-]?[0-9]+))?"
)
_EU_NUMBER = re.compile(r"([+-]?)([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),([0-9]+)")
_ISO_DATE = re.compile(
    r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})"
    r"(?:[t ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?)?"
)
_DMY_DATE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
_NAMED_DMY = re.compile(r"([0-9]{1,2})\.?[ -]([a-z]{3,9})\.?[ -],?\s?([0-9]{4})")
_NAMED_MDY = re.compile(r"([a-z]{3,9})\.? ([0-9]{1,2}),? ([0-9]{4})")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")), 1)
    for name in names
}


def canonical_cell(value: str) -> str | None:
    """The form of a cell that survives CSV, spreadsheets and locales; None when the cell
    carries no evidence (empty, a placeholder, a boolean, a single character).

    Text: zero-width characters and soft hyphens dropped, NFKC, casefold, whitespace
    trimmed and collapsed. Numbers: 72.40 -> 72.4, 1,234.5 -> 1234.5, 1.234,5 and 72,4
    (a decimal comma: a comma not followed by exactly three digits, or after dot groups)
    -> 1234.5 and 72.4, 1e3 -> 1000, -0 -> 0, leading zeros dropped (a spreadsheet drops
    them too), fractions rounded to 15 significant digits (a spreadsheet's float); 1,234
    is one thousand two hundred and thirty-four. Dates to ISO 8601: 2026/11/02, 2.11.2026
    (day first, as dots are written), 2 Nov 2026, Nov 2, 2026; d/m/y with a slash or dash
    only when unambiguous (a part over 12, or both parts equal), else kept as dd/mm/yyyy
    zero-padded, so the same text still meets itself.
    """
    text, _ = _canonical(value)
    return text


def _canonical(value: str) -> tuple[str | None, bool]:
    """(canonical cell, is a number or a date)."""
    text = _fold(value[:MAX_CELL_CHARS])
    if text in _NO_EVIDENCE:
        return None, False
    typed = _number(text) or _date(text)
    if typed is not None:
        text = typed
    if len(text) <= 1:
        return None, False
    return text, typed is not None


def _fold(value: str) -> str:
    if value.isascii():
        # NFKC leaves ASCII alone and casefold is lower(): the common cell, in a tenth of
        # the time.
        return " ".join(value.lower().split())
    text = value.translate(_INVISIBLE)
    # casefold can leave text that NFKC changes again (and the other way round): go to
    # the fixed point, so that canonical_cell is idempotent.
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        folded = " ".join(folded.split())
        if folded == text:
            break
        text = folded
    return text


def _number(text: str) -> str | None:
    parts = _number_parts(text)
    if parts is None:
        return None
    sign, whole, fraction, exponent = parts
    try:
        number = Decimal(f"{sign}{whole or '0'}.{fraction or '0'}e{exponent or '0'}")
    except InvalidOperation:
        return None
    if number.is_zero():
        return "0"
    if fraction is None and exponent is None:
        # An integer keeps every digit: a long identifier is not a float.
        return f"{'-' if sign == '-' else ''}{int(whole)}"
    number = Context(prec=_SIGNIFICANT, rounding=ROUND_HALF_EVEN).plus(number).normalize()
    return format(number, "f" if number.adjusted() in _PLAIN_RANGE else "e")


def _number_parts(text: str) -> tuple[str, str, str | None, str | None] | None:
    """(sign, integer digits, fraction digits, exponent) of a number in either notation."""
    if not text or not (text[0].isdigit() or text[0] in "+-."):
        return None
    m = _US_NUMBER.fullmatch(text)
    if m is not None and (m[2] or m[3]):
        exponent = m[4]
        if exponent is not None and len(exponent.lstrip("+-")) > _MAX_EXPONENT_DIGITS:
            return None  # 1e999999 would be a megabyte of zeros
        return m[1], m[2].replace(",", ""), m[3], exponent
    m = _EU_NUMBER.fullmatch(text)
    if m is None:
        return None
    return m[1], m[2].replace(".", ""), m[3], None


def _date(text: str) -> str | None:
    if not text[:1].isalnum():
        return None
    m = _ISO_DATE.fullmatch(text)
    if m is not None:
        return _iso_date_time(m)
    m = _DMY_DATE.fullmatch(text)
    if m is not None:
        return _numeric_date(int(m[1]), int(m[3]), int(m[4]), day_first=m[2] == ".")
    m = _NAMED_DMY.fullmatch(text)
    if m is not None and m[2] in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[2]], int(m[1]))
    m = _NAMED_MDY.fullmatch(text)
    if m is not None and m[1] in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[1]], int(m[2]))
    return None


def _numeric_date(first: int, second: int, year: int, *, day_first: bool) -> str | None:
    """d/m/y or m/d/y: ISO when only one reading is a date or both read the same."""
    if day_first or first > 12 or first == second:
        return _iso(year, second, first)
    if second > 12:
        return _iso(year, first, second)
    return f"{first:02d}/{second:02d}/{year}"  # ambiguous: kept, zero-padded


def _iso_date_time(m: re.Match[str]) -> str | None:
    day = _iso(int(m[1]), int(m[2]), int(m[3]))
    if day is None or m[4] is None:
        return day
    hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
    if hour > 23 or minute > 59 or second > 60:
        return None
    fraction = (m[7] or "").rstrip("0")
    return f"{day}t{hour:02d}:{minute:02d}:{second:02d}" + (f".{fraction}" if fraction else "")


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


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
                found = memo[raw] = _canonical(raw)
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


# -- Rows from text -------------------------------------------------------------------
def rows_from_text(text: str, *, max_rows: int = MAX_ROWS) -> list[list[str]] | None:
    """The rows of delimited text (CSV, TSV, ``;`` or ``|``; a worksheet as dlpd's
    extractors write it: cells tab-separated, rows newline-separated), or None when the
    text is not a table. Lines with fewer than two non-empty fields (a sheet's name, a
    title, a blank line) are skipped; at most ``max_rows`` rows of ``MAX_COLUMNS`` cells.
    """
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS:
        sample = sample[:sample.rfind("\n") + 1] or sample
    delimiter = _delimiter(sample)
    if delimiter is None:
        return None
    rows: list[list[str]] = []
    try:
        for fields in csv.reader(io.StringIO(text), delimiter=delimiter):
            if sum(1 for f in fields[:MAX_COLUMNS] if f.strip()) < 2:
                continue
            rows.append(fields[:MAX_COLUMNS])
            if len(rows) >= max_rows:
                break
    except csv.Error:  # a field over csv's limit, a NUL: a table up to there, if any
        pass
    return rows if len(rows) >= MIN_TABLE_ROWS else None


def _delimiter(sample: str) -> str | None:
    """The delimiter whose field count is the same on most lines of ``sample``."""
    lines = [line for line in sample.splitlines()[:64] if line.strip()]
    if len(lines) < MIN_TABLE_ROWS:
        return None
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, _DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    candidates = [sniffed] if sniffed else []
    candidates += [d for d in _DELIMITERS if d != sniffed]
    for delimiter in candidates:
        try:
            widths = Counter(len(f) for f in csv.reader(lines, delimiter=delimiter))
        except csv.Error:
            continue
        width, n = max(widths.items(), key=lambda item: (item[1], item[0]))
        if width >= 2 and n * 10 >= len(lines) * 6:
            return delimiter
    return None
