"""Rows of a database table as lines of text: ``column=value; column=value``.

Shared by the SQLite and the columnar (Parquet, Arrow) extractors. Each value comes right
after its column's name, so the keywords that rules look for next to a number (an
``ssn`` column of bare 9-digit numbers, a ``card_number`` column) sit within a few bytes of
it. The separator is ``"; "``: the password validator reads an unquoted value up to a
``;`` or the end of the line, and takes a value followed by ``|`` for prose.

A cell is cut to ``max_cell_bytes``; bytes (a BLOB, a binary column) count only when they
are text (UTF-8, no NUL, few undecodable bytes); NULLs are left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from dlpd.classify.extract.collect import DocumentText
from dlpd.classify.limits import Budget

SEPARATOR = "; "
# A column name is context, not content: long names are cut, and control characters
# (a name may hold anything) become spaces so that a row stays one line.
MAX_NAME = 128
# A table's name as a member name (``study.db!patients``).
MAX_TABLE_NAME = 256
# Value text keeps tabs and line breaks (a PEM key stored in a cell spans lines).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def column_label(name: str) -> str:
    return _NAME_CONTROL.sub(" ", name[:MAX_NAME])


def table_member_name(name: str) -> str:
    return name[:MAX_TABLE_NAME]


def bytes_text(data: bytes, max_bytes: int) -> str | None:
    """``data`` (its first ``max_bytes``) as text, or None when it is binary."""
    head = data[:max_bytes]
    if b"\0" in head:
        return None
    text = head.decode("utf-8", "replace")
    if len(head) < len(data):
        # The cut may split the last character: its pieces are not a sign of binary.
        text = text.rstrip("\ufffd")
    if text.count("\ufffd") * 10 > len(text):
        return None
    return text


def cell_text(value: object, max_bytes: int) -> str | None:
    """One cell as text, or None when there is nothing to match in it."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes_text(bytes(value[:max_bytes + 1]), max_bytes)
    else:
        text = str(value)[:max_bytes]
        if len(text.encode("utf-8", "replace")) > max_bytes:
            text = text.encode("utf-8", "replace")[:max_bytes].decode("utf-8", "ignore")
    if not text:
        return None
    return _CONTROL.sub(" ", text)


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # A number kept as REAL (4111111111111111.0) is read as the integer it holds.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() \
            and abs(value) < 1e19:
        return str(int(value))
    return str(value) if isinstance(value, int) else repr(value)


def row_line(labels: Sequence[str], values: Sequence[object], max_bytes: int) -> str:
    pairs = []
    for label, value in zip(labels, values, strict=False):
        text = cell_text(value, max_bytes)
        if text is not None:
            pairs.append(f"{label}={text}")
    return SEPARATOR.join(pairs)


class TableLines:
    """The lines of one table, within ``max_table_rows`` and ``max_text_bytes``."""

    def __init__(self, budget: Budget, name: str, labels: Sequence[str]) -> None:
        self._budget = budget
        self._name = name
        self._labels = tuple(labels)
        self._text = DocumentText(budget)
        self._max_cell = budget.options.max_cell_bytes
        self.max_rows = budget.options.max_table_rows
        self.rows = 0

    @property
    def full(self) -> bool:
        """No more rows are wanted: the row bound or the text bound is reached."""
        return self.rows >= self.max_rows or self._text.full

    def add(self, values: Sequence[object]) -> None:
        self.rows += 1
        line = row_line(self._labels, values, self._max_cell)
        if len(line) > self._text.left:
            self._text.mark_cut(self._name)
        self._text.add(line[: max(self._text.left, 0) + 1])

    def rows_cut(self) -> None:
        """There were more rows than ``max_table_rows``."""
        self._budget.note("max_table_rows", f"{self._name}: first {self.rows} rows read")

    def to_bytes(self) -> bytes:
        return self._text.to_bytes(self._name)
