"""The content prints of one classified file: the text the classifier meets, kept only for
the length of the call and only up to a bound, turned into integer prints at the end.

Which text: what the classifier already has in hand for matching, in the order it meets
it: a text file (decoded if it is not UTF-8), the text member of each document (docx,
xlsx, odt, ods, pdf, doc, xls, an email's parts) and of each document inside an archive.
One ``TextPrints`` per top-level file over that text joined, and one ``TablePrints`` over
the rows found in it, when there are rows enough to be a table.

Archives are not skipped: their members' text is joined, up to the bound, like the parts
of a document. A labelled document zipped with a few others is the plainest way to take
it out, and joining costs nothing in precision: winnowing is local (a member's prints do
not depend on its neighbours, only the few windows across a seam change), and a match
is judged by the share of the *source's* prints the file holds, which unrelated members
cannot dilute. What lies beyond ``max_text_bytes`` of text is not printed (a large
archive is recognised by its first 16 MiB of text).

Rows: dlpd's extractors write a table as cells separated by tabs, rows by newlines
(xmltext.TextBuilder, sheets.SheetText, xls.workbook_lines), so a document's text is split
back exactly that way, never re-parsed as CSV: a cell holding a comma or a quote stays
one cell. A plain text file is a table when ``rows_from_text`` finds one (CSV, TSV, ``;``
or ``|``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from dlpd.fingerprint.delimited import MIN_TABLE_ROWS, SNIFF_CHARS, rows_from_text
from dlpd.fingerprint.table import MAX_COLUMNS, MAX_ROWS, TablePrints, table_prints
from dlpd.fingerprint.text import TextPrints, normalize, text_prints
from dlpd.model import MiB


@dataclass(frozen=True, slots=True)
class PrintOptions:
    """Compute content prints for every file (the label feature is on).

    ``cell_key``: the installation's secret key for table cells (the store's
    ``fingerprints.cell_key``). ``max_text_bytes``: UTF-8 text of one file taken into its
    prints (the default is ``[limits] max_text_bytes``'s: prints see what the rules see).
    ``max_rows``: table rows taken into its table prints. ``active``: asked per file;
    while it says no (nothing labelled, nothing registered: the daemon's resolver is
    idle) a file costs one call and no prints are made.
    """

    cell_key: bytes
    max_text_bytes: int = 16 * MiB
    max_rows: int = MAX_ROWS
    active: Callable[[], bool] = field(default=lambda: True, compare=False)
    # Per file: (text prints, table prints) worth making (labelling.resolve.PrintPlan);
    # None: both.
    kinds: Callable[[str], tuple[bool, bool]] | None = field(default=None, compare=False)


class PrintText:
    """The text of one file on its way to prints. One per classify call, not thread-safe.

    Parts are UTF-8 bytes, kept as given (the classifier's own buffers, not copies) until
    the bound is reached; the part that crosses it is cut on a character boundary.
    """

    def __init__(self, options: PrintOptions, *, text: bool = True,
                 table: bool = True) -> None:
        self._options = options
        self._text = text
        self._table = table
        self._left = options.max_text_bytes
        # (chunks, cells): chunks joined make one part; cells: tab-separated rows as the
        # extractors write them (else plain text, read as CSV/TSV if it is one).
        self._parts: list[tuple[list[bytes], bool]] = []
        self.cut = False

    @property
    def full(self) -> bool:
        """No more text is taken: callers may skip finding it."""
        return self._left <= 0

    def add(self, data: bytes, *, cells: bool, continued: bool = False) -> None:
        """Add a part of text (UTF-8); ``continued``: the next chunk of the previous part
        (a big file read in pieces), joined to it without a line break."""
        if not data:
            return
        if len(data) > self._left:
            data = _cut(data, self._left)
            self.cut = True
        if not data:
            return
        self._left -= len(data)
        if continued and self._parts and not self._parts[-1][1]:
            self._parts[-1][0].append(data)
        else:
            self._parts.append(([data], cells))

    def finish(self) -> tuple[TextPrints | None, TablePrints | None]:
        """The prints of the text added (None: no text at all; no table); the text goes."""
        parts: list[tuple[str, bool]] = []
        self._parts.reverse()
        while self._parts:  # each part's bytes go as its text is made
            chunks, cells = self._parts.pop()
            parts.append((b"".join(chunks).decode("utf-8", "replace"), cells))
            del chunks
        if not parts:
            return None, None
        text = segmented_prints("\n".join(part for part, _ in parts)) if self._text else None
        if not self._table:
            return text, None
        rows: list[list[str]] = []
        limit = self._options.max_rows + 1  # + 1: the first row may be a header
        for part, cells in parts:
            if len(rows) >= limit:
                break
            found: list[list[str]] | None
            if cells:
                found = _cell_rows(part, limit - len(rows))
            elif _looks_delimited(part):
                found = rows_from_text(part, max_rows=limit - len(rows))
            else:
                continue
            rows.extend(found or ())
        if len(rows) < MIN_TABLE_ROWS:
            return text, None
        return text, table_prints(rows, self._options.cell_key, max_rows=self._options.max_rows)


# text_prints holds ~23 bytes per byte of text at its peak (lists of anchors and CRCs):
# 16 MiB of text at once would be ~370 MB per scan job. A segment at a time it is ~25 MB.
SEGMENT_CHARS = 1 << 20
# Segments overlap by this much text, so that every window of the whole text lies whole
# in some segment (a window spans ~130 bytes of normalised prose; 16 KiB leaves room for
# text with few anchor bytes or much whitespace).
OVERLAP_CHARS = 16 * 1024


def segmented_prints(text: str, segment: int = SEGMENT_CHARS,
                     overlap: int = OVERLAP_CHARS) -> TextPrints:
    """``text_prints(text)``, computed over overlapping segments in bounded memory.

    The same prints: winnowing is local, anchors depend only on the bytes, and every
    window of the whole text lies whole in one segment, where it is a window too and
    selects the same k-gram. A segment's first and last few characters may normalise
    differently from the whole (a combining mark cut from its letter), which can add a
    print from those edges and never removes one. ``chars`` is that of the whole text
    (the overlaps counted once).
    """
    if len(text) <= segment + overlap:
        return text_prints(text)
    prints: set[int] = set()
    chars = 0
    for start in range(0, len(text), segment):
        part = text_prints(text[start:start + segment + overlap])
        prints |= part.prints
        chars += part.chars
        if start + segment + overlap >= len(text):
            break  # this segment reached the end
        # The overlap is counted again by the next segment.
        chars -= len(normalize(text[start + segment:start + segment + overlap]))
    return TextPrints(frozenset(prints), chars)


def _cell_rows(text: str, max_rows: int) -> list[list[str]]:
    """Rows of two or more non-empty cells in extractor text (cells tab-separated)."""
    rows: list[list[str]] = []
    for line in text.split("\n"):
        if "\t" not in line:
            continue  # a paragraph, a sheet's name, a property
        cells = line.split("\t", MAX_COLUMNS)[:MAX_COLUMNS]
        if sum(1 for cell in cells if cell.strip()) >= 2:
            rows.append(cells)
            if len(rows) >= max_rows:
                break
    return rows


_QUOTED = re.compile(r'"[^"\n]*"')
_SAMPLE_LINES = 64


def _looks_delimited(text: str) -> bool:
    """Whether plain text may be CSV/TSV: most of its first lines split on one delimiter
    into the same number (two or more) of fields, a quoted field taken as one.

    Asked before ``rows_from_text``, whose ``csv.Sniffer`` spends ~0.2 s (and up to
    seconds) on 16 KiB of quote-heavy text that is no table at all (JSON, source code:
    measured on the bench corpus). This check is linear, and it is the test
    ``rows_from_text`` makes after the sniffer (one width on 60% of the lines).
    """
    lines = [line for line in text[:SNIFF_CHARS].splitlines()[:_SAMPLE_LINES] if line.strip()]
    if len(lines) < MIN_TABLE_ROWS:
        return False
    lines = [_QUOTED.sub("q", line) if '"' in line else line for line in lines]
    for delimiter in ",\t;|":
        widths = Counter(
            line.count(delimiter) + 1 for line in lines
            if sum(1 for cell in line.split(delimiter) if cell.strip()) >= 2)
        if widths and widths.most_common(1)[0][1] * 10 >= len(lines) * 6:
            return True
    return False


def _cut(data: bytes, size: int) -> bytes:
    """The first ``size`` bytes of UTF-8 ``data``, less a character cut in two."""
    if size <= 0:
        return b""
    while size > 0 and (data[size] & 0xC0) == 0x80:
        size -= 1
    return data[:size]
