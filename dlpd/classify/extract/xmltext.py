"""Text out of office XML parts, streamed through a hardened expat parser.

A ``Grammar`` names the elements of one format that make paragraphs, table rows and cells,
text boxes, and characters (``w:tab`` → tab); ``TextBuilder`` turns the parser's events
into lines: paragraphs joined from their runs, cells tab-separated, rows and paragraphs
newline-separated. No tree is built, so memory follows the text kept, not the part size.

Why expat directly and not defusedxml's parsers: defusedxml hides ``_elementtree`` to
reach expat, so its parsers are the pure-Python ElementTree ones, 1.5x slower than expat
with our callbacks on dense OOXML. The defence goes further than defusedxml's
``forbid_dtd=True``: no entity is ever declared, expanded or fetched. Office formats
never carry a DTD; one in a part is an attempt to stop the scan (a parser that refuses
it reads no text), so ``DtdCut`` cuts it out before expat sees it and puts in its place
an empty external one that is never read. References to the entities it declared are
then skipped, in content and in attributes alike, and the text around them is read. A
DTD that cannot be cut out (past ``MAX_DTD`` bytes, not UTF-8) still stops the parse.
"""

from __future__ import annotations

import pyexpat
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

# Repeated ODF rows/cells (``table:number-rows-repeated="1048000"``) are written at most
# this many times: positions in a table stay right, a sheet of empty rows stays small.
MAX_REPEAT = 32
# ``text:s text:c="1000000000"``: at most this many spaces.
MAX_SPACES = 256


class XmlError(Exception):
    """A part is not well-formed XML, or uses a DTD; the message is short and content-free."""


class TextFull(Exception):
    """Raised from inside a handler to stop parsing once the text budget is spent."""


class Handler(Protocol):
    def start(self, tag: str, attrs: dict[str, str]) -> None: ...
    def end(self, tag: str) -> None: ...
    def data(self, text: str) -> None: ...
    def finish(self) -> None:
        """Close what is still open after a parse stopped early, keeping its text."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """How the parse of one part ended. Whatever was read stays in the handler."""

    cut: bool = False  # the text budget ran out
    error: str | None = None  # not well-formed, or a DTD that could not be cut out
    dtd_ignored: bool = False  # a DTD was cut out: its entities were not expanded


def qnames(namespaces: Iterable[str], *locals_: str) -> frozenset[str]:
    """Element names as the parser reports them (``"namespace local"``), in every namespace."""
    return frozenset(f"{ns} {local}" for ns in namespaces for local in locals_)


def _forbid_dtd(*_: object) -> None:
    raise XmlError("DTD not allowed")


def _forbid_entity(*_: object) -> None:
    raise XmlError("entity declarations not allowed")


def _forbid_external(*_: object) -> int:
    raise XmlError("external entities not allowed")


# What the prolog may hold before a DOCTYPE is found or ruled out, and the DTD with it.
MAX_DTD = 1 << 20
_DOCTYPE = b"<!DOCTYPE"
# The stand-in: an external subset that is never read (parameter entities are never
# parsed) makes expat skip references to undeclared entities instead of failing on them.
_STAND_IN = b'<!DOCTYPE dlpd-ignored SYSTEM "dlpd-ignored">'
_STAND_IN_NAME = "dlpd-ignored"
# The first element's start tag: the prolog is over.
_ELEMENT = re.compile(rb"<[^?!]")
# Inside a DOCTYPE: quoted literals and comments are skipped whole; brackets and the
# closing ">" are what count.
_DTD_TOKEN = re.compile(rb'"[^"]*"|\'[^\']*\'|<!--.*?-->|[\[\]>]', re.DOTALL)


class DtdCut:
    """``chunks`` with a DOCTYPE in the prolog cut out; ``found`` once one was."""

    def __init__(self) -> None:
        self.found = False

    def filter(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        it = iter(chunks)
        head = b""
        for chunk in it:
            head += chunk
            done, head = self._cut(head)
            if done or len(head) > MAX_DTD:
                break
        if head:
            yield head
        del head
        yield from it

    def _cut(self, head: bytes) -> tuple[bool, bytes]:
        """(prolog settled, the bytes to feed): cut once the whole DOCTYPE is in ``head``."""
        start = head.find(_DOCTYPE)
        element = _ELEMENT.search(head)
        if start < 0 or (element is not None and element.start() < start):
            return element is not None, head
        depth = 0
        for token in _DTD_TOKEN.finditer(head, start + len(_DOCTYPE)):
            mark = token[0]
            if mark == b"[":
                depth += 1
            elif mark == b"]":
                depth -= 1
            elif mark == b">" and depth <= 0:
                self.found = True
                return True, head[:start] + _STAND_IN + head[token.end() :]
        return False, head


def parse(chunks: Iterable[bytes], handler: Handler, cut: DtdCut | None = None) -> bool:
    """Feed XML ``chunks`` to ``handler``; True if a DTD was cut out (and ignored).

    ``XmlError`` for malformed XML or a DTD that could not be cut out. ``TextFull`` (and
    budget errors) raised by the handler propagate unchanged. ``cut`` tells the caller
    about the DTD when the parse ends in an exception.
    """
    cut = cut or DtdCut()
    chunks = cut.filter(chunks)
    parser = pyexpat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(name: str, *_: object) -> None:
        if not (cut.found and name == _STAND_IN_NAME):
            _forbid_dtd()

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_entity
    parser.ExternalEntityRefHandler = _forbid_external
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except pyexpat.ExpatError as exc:
        raise XmlError(f"malformed XML: {pyexpat.ErrorString(exc.code)}") from exc
    return cut.found


@dataclass(frozen=True, slots=True)
class Grammar:
    """Which elements of a format carry text, and how they nest. Names from ``qnames``."""

    paragraphs: frozenset[str]
    # Elements whose character data is text (``w:t``). Empty: all character data inside a
    # paragraph is text (ODF mixes text and ``text:span`` freely inside ``text:p``).
    text: frozenset[str] = frozenset()
    rows: frozenset[str] = frozenset()
    cells: frozenset[str] = frozenset()
    # Containers of paragraphs that may sit inside a paragraph: text boxes, footnotes.
    blocks: frozenset[str] = frozenset()
    # Subtrees ignored whole: ``mc:Fallback`` (a copy of ``mc:Choice``), phonetic runs.
    skip: frozenset[str] = frozenset()
    # Empty elements that stand for characters: ``w:tab`` → ``"\t"``.
    chars: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # ``(element, count attribute)`` of a run of spaces: ODF ``text:s text:c="3"``.
    spaces: tuple[str, str] | None = None
    # Row/cell element → its repeat-count attribute (ODF ``number-columns-repeated``).
    repeats: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Element → attribute written as a line of its own (ODF sheet names).
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Keep empty top-level paragraphs: shared strings are looked up by position.
    keep_empty: bool = False


_PARA, _ROW, _CELL, _BLOCK, _TEXT, _CHAR, _SKIP, _SPACES, _LABEL = range(9)


def _roles(grammar: Grammar) -> dict[str, int]:
    roles: dict[str, int] = {}
    for names, role in (
        (grammar.text, _TEXT),
        (grammar.paragraphs, _PARA),
        (grammar.rows, _ROW),
        (grammar.cells, _CELL),
        (grammar.blocks, _BLOCK),
        (grammar.chars.keys(), _CHAR),
        (grammar.labels.keys(), _LABEL),
        (grammar.skip, _SKIP),
    ):
        roles.update(dict.fromkeys(names, role))
    if grammar.spaces is not None:
        roles[grammar.spaces[0]] = _SPACES
    return roles


class TextBuilder:
    """Parser events → lines of text, at most ``max_chars`` characters kept.

    Frames stack up as paragraphs, rows, cells and blocks open; closing one hands its text
    to the frame below: a paragraph to its cell or block as a line, a cell to its row, a
    row to its block as a tab-joined line, a block (text box) into a paragraph on lines of
    its own. The bottom frame holds the finished lines.
    """

    def __init__(self, grammar: Grammar, max_chars: int) -> None:
        self._grammar = grammar
        self._roles = _roles(grammar)
        self._data_in_paragraph = not grammar.text
        self._left = max_chars
        self._frames: list[list[str]] = [[]]
        self._kinds: list[int] = [_BLOCK]
        self._counts: list[int] = [1]
        self._in_text = 0
        self._skipping = 0

    # -- results ------------------------------------------------------------------------
    @property
    def lines(self) -> list[str]:
        """Finished lines (after ``finish`` if the parse stopped half-way)."""
        return self._frames[0]

    def finish(self) -> None:
        """Close the frames still open (the parse stopped early), keeping their text."""
        self._skipping = 0
        self._left = sys.maxsize  # what is open is kept whole; the caller makes the cut
        while len(self._frames) > 1:
            self._close()

    # -- parser callbacks ---------------------------------------------------------------
    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if self._skipping:
            self._skipping += 1
            return
        role = self._roles.get(tag)
        if role is None:
            return
        if role == _TEXT:
            self._in_text += 1
        elif role == _PARA:
            self._open(_PARA, 1)
            if self._data_in_paragraph:
                self._in_text += 1
        elif role == _CHAR:
            self._add(self._grammar.chars[tag])
        elif role == _SKIP:
            self._skipping = 1
        elif role == _SPACES:
            self._add(" " * _count(attrs, self._grammar.spaces, MAX_SPACES))
        elif role == _LABEL:
            self._deliver(attrs.get(self._grammar.labels[tag], ""))
        else:  # row, cell, block
            attr = self._grammar.repeats.get(tag)
            self._open(role, _count(attrs, (tag, attr), MAX_REPEAT) if attr else 1)

    def end(self, tag: str) -> None:
        if self._skipping:
            self._skipping -= 1
            return
        role = self._roles.get(tag)
        if role == _TEXT:
            self._in_text -= 1
        elif role in (_PARA, _ROW, _CELL, _BLOCK) and len(self._frames) > 1:
            if role == _PARA and self._data_in_paragraph:
                self._in_text -= 1
            self._close()

    def data(self, text: str) -> None:
        if self._in_text and not self._skipping and self._kinds[-1] == _PARA:
            self._add(text)

    # -- frames -------------------------------------------------------------------------
    def _add(self, text: str) -> None:
        self._left -= len(text)
        self._frames[-1].append(text)
        if self._left < 0:
            raise TextFull

    def _open(self, kind: int, count: int) -> None:
        self._frames.append([])
        self._kinds.append(kind)
        self._counts.append(count)

    def _close(self) -> None:
        parts = self._frames.pop()
        kind = self._kinds.pop()
        count = self._counts.pop()
        if kind == _PARA:
            text = "".join(parts).strip("\n")  # a text box at either end adds a newline
        elif kind == _CELL:
            text = " ".join(p for p in parts if p)
        elif kind == _ROW:
            while parts and not parts[-1]:
                parts.pop()
            text = "\t".join(parts)
        else:
            text = "\n".join(p for p in parts if p)
        copies = count if text or kind == _CELL else 1
        for _ in range(copies):
            self._deliver(text)
        if copies > 1:
            # The copies are text that ``_add`` never counted.
            self._left -= (copies - 1) * (len(text) + 1)
            if self._left < 0:
                raise TextFull

    def _deliver(self, text: str) -> None:
        kind = self._kinds[-1]
        if kind == _ROW:
            self._frames[-1].append(text)
        elif kind == _PARA:
            if text:
                self._frames[-1].append(f"\n{text}\n")
        elif text or (self._grammar.keep_empty and len(self._frames) == 1):
            self._frames[-1].append(text)


def _count(attrs: dict[str, str], spec: tuple[str, str | None] | None, cap: int) -> int:
    if spec is None or spec[1] is None:
        return 1
    return max(1, min(small_int(attrs.get(spec[1], "1"), default=1, huge=cap), cap))


def small_int(value: str, *, default: int, huge: int) -> int:
    """``value`` as an int if it is plain ASCII digits; ``huge`` for more than nine of
    them (``int()`` refuses 4,300 digits, and no count or index here is that big)."""
    if not (value.isascii() and value.isdigit()):
        return default
    return int(value) if len(value) <= 9 else huge


def run(chunks: Iterable[bytes], handler: Handler) -> Parsed:
    """Parse, and say whether the text budget or an XML error stopped it early."""
    cut = DtdCut()
    try:
        parse(chunks, handler, cut)
    except TextFull:
        handler.finish()
        return Parsed(cut=True, dtd_ignored=cut.found)
    except XmlError as exc:
        handler.finish()
        return Parsed(error=str(exc), dtd_ignored=cut.found)
    return Parsed(dtd_ignored=cut.found)
