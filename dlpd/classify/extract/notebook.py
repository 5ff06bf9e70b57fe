"""Jupyter notebooks cell by cell, and the strings that escapes hide in other JSON.

A notebook (nbformat 4, or 3 with ``worksheets``) keeps its text in JSON strings, a PEM
key as one quoted line after another, each ending in ``\\n``. Matching the raw file would
miss it, so a notebook is matched only as this extractor decodes it (the classifier's
``_DECODED_ONLY``): one text part per cell, ``cell-N`` counting from 1 in file order,
with the cell's source and its text outputs (stream text, text-like ``data`` entries,
error name, value and traceback); base64 outputs (``image/png``, ``application/pdf``)
are skipped as they stream past. Everything outside the cells' content (notebook, cell
and output metadata, attachment names) goes to parts named ``metadata``.

The notebook is streamed (jsontokens), never loaded whole: memory is a chunk, a piece of
a string, and one cell's text, capped at ``max_text_bytes`` (noted; later cells are
still read). A notebook that stops being JSON yields what was read, then the rest of the
file as text (raw, and its escaped strings decoded), then raises ``ExtractionError``.

Other JSON (kind ``json``) is matched raw like any text; ``extract_json`` adds one text
member, ``json``, of the strings that held an escape, decoded, a ``key: text`` line each.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.jsonstrings import StringDecoder, escaped_strings
from dlpd.classify.extract.jsontokens import (
    ARRAY,
    CLOSE,
    FIRST,
    KEY,
    LAST,
    OBJECT,
    SCALAR,
    SCALARS,
    STRINGS,
    JsonTokens,
    Malformed,
)
from dlpd.classify.extract.reading import hand_over
from dlpd.classify.limits import Budget, MiB
from dlpd.errors import ExtractionError

METADATA = "metadata"
JSON_NAME = "json"
# Metadata is handed over in parts of about this size (widget state can be megabytes).
METADATA_PART = 1 * MiB

# Where a value sits in a notebook, from the path of keys to it.
(TOP, WORKSHEETS, WORKSHEET, CELLS, CELL, OUTPUTS, OUTPUT, DATA, ATTACHMENTS, ATTACHMENT,
 TEXT, META, SKIP) = range(13)
# Cell and output fields that are bookkeeping, not content.
_CELL_FIELDS = frozenset({"cell_type", "id", "execution_count", "prompt_number", "level",
                          "language", "collapsed"})
_OUTPUT_FIELDS = frozenset({"output_type", "execution_count", "prompt_number", "name",
                            "stream"})
# nbformat 3 outputs keep each representation under a short key of its own.
_V3_BINARY = frozenset({"png", "jpeg", "gif", "pdf"})
_BINARY_TYPES = ("image/", "audio/", "video/", "font/")
_BINARY_MIMES = frozenset({"application/pdf", "application/octet-stream", "application/zip"})


def _is_binary(mime: str) -> bool:
    """A representation Jupyter stores base64-encoded (SVG is XML text)."""
    mime = mime.lower()
    if mime.startswith(_BINARY_TYPES):
        return not mime.endswith("+xml")
    return mime in _BINARY_MIMES or mime in _V3_BINARY


def _child(route: int, key: str | None) -> int:  # noqa: PLR0911 - a table
    """The route of a value under a container of ``route``, at ``key`` (None in arrays)."""
    if route in (TEXT, META, SKIP):
        return route
    if route == TOP:
        return CELLS if key == "cells" else WORKSHEETS if key == "worksheets" else META
    if route == WORKSHEET:
        return CELLS if key == "cells" else META
    if route in (WORKSHEETS, CELLS, OUTPUTS, ATTACHMENTS):
        return {WORKSHEETS: WORKSHEET, CELLS: CELL, OUTPUTS: OUTPUT,
                ATTACHMENTS: ATTACHMENT}[route]
    if key is None:  # an array where an object belongs: keep its strings
        return META
    if route == CELL:
        fields = {"metadata": META, "outputs": OUTPUTS, "attachments": ATTACHMENTS}
        return fields.get(key, SKIP if key in _CELL_FIELDS else TEXT)
    if route == OUTPUT:
        if key == "metadata":
            return META
        if key == "data":
            return DATA
        return SKIP if key in _OUTPUT_FIELDS or _is_binary(key) else TEXT
    return SKIP if _is_binary(key) else TEXT  # DATA, ATTACHMENT: keys are MIME types


class _Text:
    """UTF-8 text of one part, at most ``cap`` bytes; ``cut`` once something was left out."""

    def __init__(self, cap: int) -> None:
        self._parts: list[bytes] = []
        self._left = cap
        self.size = 0
        self.cut = False

    def add(self, text: str) -> None:
        if not text:
            return
        if self._left <= 0:
            self.cut = True
            return
        data = text.encode("utf-8", "replace")  # a lone surrogate from "\ud800" is "?"
        if len(data) > self._left:
            cap = self._left
            while cap > 0 and (data[cap] & 0xC0) == 0x80:  # do not split a character
                cap -= 1
            data = data[:cap]
            self.cut = True
        self._parts.append(data)
        self._left -= len(data)
        self.size += len(data)

    def newline(self) -> None:
        if self.size and not self._parts[-1].endswith(b"\n"):
            self.add("\n")

    def data(self) -> bytes:
        return b"".join(self._parts)


class _Frame:
    __slots__ = ("is_array", "key", "level", "route")

    def __init__(self, route: int, key: str | None, is_array: bool, level: int) -> None:
        self.route = route
        self.key = key
        self.is_array = is_array
        self.level = level  # nesting inside a cell's content field (0: the field itself)


class _NotebookReader:
    """Turns token events into cell and metadata parts."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._decoder = StringDecoder(budget)
        self._cap = budget.limits.max_text_bytes
        self._stack: list[_Frame] = []
        self._key: str | None = None  # the key of the value that comes next
        self._cells = 0
        self._cell: _Text | None = None
        self._meta = _Text(self._cap)
        self._string = SKIP  # where the pieces of the open literal go

    def feed(self, kind: int, raw: bytes, flags: int) -> Member | None:
        """Take one event; a cell's part when the event closed it."""
        if kind == KEY:
            self._key = self._decoder.text(raw)
            if self._stack and self._stack[-1].route == ATTACHMENTS:
                self._meta_line(f"attachment: {self._key}")
            return None
        if kind == CLOSE:
            frame = self._stack.pop()
            self._key = None
            return self._finish_cell() if frame.route == CELL else None
        parent = self._stack[-1] if self._stack else None
        key, self._key = self._key, None
        if kind in (OBJECT, ARRAY):
            self._open(kind == ARRAY, parent, key)
        elif kind == STRINGS:
            self._items(raw, parent)
        elif kind in (SCALAR, SCALARS):
            self._string = self._route(parent, key)
            # Numbers only: true/false/null say little. A run of an array's: one line.
            if self._string != SKIP and raw[:1] not in (b"t", b"f", b"n"):
                numbers = b" ".join(raw.split()) if kind == SCALARS else raw  # no indent
                self._piece(numbers.decode("ascii", "replace"), FIRST | LAST, parent, key)
        else:  # a STRING piece
            if flags & FIRST:
                self._string = self._route(parent, key)
            if self._string != SKIP:  # base64 images stream past without being decoded
                self._piece(self._decoder.text(raw), flags, parent, key)
        return None

    def _open(self, is_array: bool, parent: _Frame | None, key: str | None) -> None:
        route = TOP if parent is None else _child(parent.route, key)
        if route == TOP and is_array:
            route = META  # not a notebook: keep its strings
        level = parent.level + 1 if parent is not None and parent.route == TEXT else 0
        if route == TEXT and level == 0 and self._cell is not None:
            self._cell.newline()
        self._stack.append(_Frame(route, key, is_array, level))
        if route == CELL:
            self._cells += 1
            self._cell = _Text(self._cap)

    @staticmethod
    def _route(parent: _Frame | None, key: str | None) -> int:
        route = META if parent is None else _child(parent.route, key)
        return route if route in (TEXT, SKIP) else META

    def _piece(self, text: str, flags: int, parent: _Frame | None, key: str | None) -> None:
        if self._string == META or self._cell is None:
            if flags & FIRST:
                self._meta.newline()
                self._meta.add(f"{key}: " if key else "")
            self._meta.add(text)
            return
        cell = self._cell
        if flags & FIRST and parent is not None:
            if parent.route != TEXT:  # a field's value: source, text, text/plain
                cell.newline()
            elif parent.level > 0 or not parent.is_array:  # nested data (application/json)
                cell.newline()
                cell.add(f"{key}: " if key else "")
            elif parent.key == "traceback":  # Jupyter prints a traceback a line an item
                cell.newline()
            # else: an item of a field's list of lines ("source": ["a\n", "b\n"]): joined
        cell.add(text)

    def _items(self, run: bytes, parent: _Frame | None) -> None:
        """A run of string items of an array: a field's lines joined at once."""
        self._string = self._route(parent, None)
        if self._string == SKIP:
            return
        items = self._decoder.items(run)
        if (self._string == TEXT and parent is not None and parent.route == TEXT
                and parent.level == 0 and self._cell is not None):
            joined = "\n".join(items) if parent.key == "traceback" else "".join(items)
            self._piece(joined, FIRST | LAST, parent, None)
            return
        for item in items:
            self._piece(item, FIRST | LAST, parent, None)

    def _meta_line(self, line: str) -> None:
        self._meta.newline()
        self._meta.add(line)

    def _finish_cell(self) -> Member | None:
        cell, self._cell = self._cell, None
        if cell is None or not cell.size:
            return None
        name = f"cell-{self._cells}"
        if cell.cut:
            self._budget.note("max_text_bytes", f"{name}: text cut")
        return Member(name, cell.data(), is_text=True, truncated=cell.cut, part=True)

    def unfinished(self) -> Member | None:
        """The cell being read when the document broke off, as far as it was read."""
        member = self._finish_cell()
        return None if member is None else Member(member.name, member.data, is_text=True,
                                                  truncated=True, part=True)

    def metadata(self, final: bool) -> Member | None:
        """The metadata part once it is big enough to hand over (or ``final``)."""
        meta = self._meta
        if not meta.size or (not final and meta.size < METADATA_PART):
            return None
        if meta.cut:
            self._budget.note("max_text_bytes", f"{METADATA}: text cut")
        self._meta = _Text(self._cap)
        return Member(METADATA, meta.data(), is_text=True, truncated=meta.cut, part=True)


def extract_notebook(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    reader = _NotebookReader(budget)
    tokens = JsonTokens(stream, budget)
    try:
        for kind, raw, flags in tokens:
            cell = reader.feed(kind, raw, flags)
            if cell is not None:
                yield from hand_over(budget, cell)
            meta = reader.metadata(final=False)
            if meta is not None:
                yield from hand_over(budget, meta)
    except Malformed as exc:
        for part in (reader.unfinished(), reader.metadata(final=True)):
            if part is not None:
                yield from hand_over(budget, part)
        if tokens.cut:  # not malformed: read to the scan budget
            budget.note("max_scan_bytes", f"notebook read to its first {exc.offset} bytes")
            return
        yield from _rest(stream, exc.offset, budget)
        raise ExtractionError(f"malformed notebook ({exc.reason} at byte {exc.offset})") from None
    meta = reader.metadata(final=True)
    if meta is not None:
        yield from hand_over(budget, meta)


def _rest(stream: BinaryIO, offset: int, budget: Budget) -> Iterator[Member]:
    """What follows the point where a notebook stopped being JSON, as text: the raw bytes
    (decoded), then its strings that held escapes, decoded. Nothing of it is lost."""
    cap = min(budget.limits.max_text_bytes, budget.member_cap())
    stream.seek(offset)
    raw = stream.read(cap + 1)
    text = _Text(cap)
    text.add(StringDecoder(budget).plain(raw[:cap]))
    for fragment in escaped_strings(io.BytesIO(raw[:cap]), budget):
        if text.cut:
            break
        text.newline()
        text.add(fragment)
    if text.cut or len(raw) > cap:
        budget.note("max_text_bytes", "rest of a malformed notebook: text cut")
    if text.size:
        yield from hand_over(budget, Member("rest", text.data(), is_text=True,
                                            truncated=text.cut or len(raw) > cap))


def extract_json(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    text = _Text(budget.limits.max_text_bytes)
    for fragment in escaped_strings(stream, budget):
        text.add(fragment)
        if text.cut:
            budget.note("max_text_bytes", f"{JSON_NAME}: text cut")
            break
    if text.size:
        yield from hand_over(budget, Member(JSON_NAME, text.data(), is_text=True,
                                            truncated=text.cut))
