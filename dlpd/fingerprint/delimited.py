"""The rows of delimited text (CSV, TSV, ``;`` or ``|``, and worksheets as dlpd's
extractors write them): the tables a file's text holds, for table fingerprints. Pure:
standard library only.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

from dlpd.fingerprint.table import MAX_COLUMNS, MAX_ROWS

SNIFF_CHARS = 16 * 1024
MIN_TABLE_ROWS = 3
_DELIMITERS = ",\t;|"


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
