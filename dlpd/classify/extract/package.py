"""A zip-based document (OOXML, ODF) being read: its parts, its text, its problems.

The document formats decide which parts to read in which order and with which grammar;
``Package`` reads each part through the budget, keeps the text under the document's text
cap, collects part failures, and in the end yields one text member (one YARA pass per
document) followed by embedded files as raw members.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from dlpd.classify.extract import xmltext
from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import DocumentText, Problems
from dlpd.classify.extract.xmltext import Grammar, TextBuilder, TextFull
from dlpd.classify.extract.zipread import PartReader, raw_members
from dlpd.classify.limits import Budget
from dlpd.errors import LimitExceeded


class LinesHandler(xmltext.Handler, Protocol):
    @property
    def lines(self) -> list[str]: ...


@runtime_checkable
class ChunkParser(Protocol):
    """A part reader that needs no XML events (``sheets.SheetText``): fed raw chunks."""

    @property
    def lines(self) -> list[str]: ...

    def run(self, chunks: Iterable[bytes]) -> xmltext.Parsed: ...


class Package:
    def __init__(self, archive: zipfile.ZipFile, budget: Budget, label: str) -> None:
        self.archive = archive
        self.budget = budget
        self.label = label
        self.names = archive.namelist()
        self._present = set(self.names)
        self.text = DocumentText(budget)
        self.problems = Problems(label)
        # A hard limit hit while reading parts: raised after the text found so far.
        self.stopped: LimitExceeded | None = None

    def has(self, name: str) -> bool:
        return name in self._present

    def matching(self, pattern: str) -> list[str]:
        """Part names matching ``pattern`` whole, in natural order (slide2 before slide10)."""
        regex = re.compile(pattern)
        return sorted((n for n in self.names if regex.fullmatch(n)), key=natural_key)

    def parse(self, name: str, handler: xmltext.Handler | ChunkParser) -> bool:
        """Feed part ``name`` to ``handler``; True if the handler's text budget ran out.

        A hard limit (too many members, a bomb-like ratio, the time) stops this part and
        every later one; ``finish`` raises it after yielding the text found before.
        """
        if self.stopped is not None or not self.has(name):
            return False
        reader = PartReader(self.archive, self.archive.getinfo(name), self.budget)
        try:
            self.budget.charge_member()
            if isinstance(handler, ChunkParser):
                parsed = handler.run(reader.chunks())
            else:
                parsed = xmltext.run(reader.chunks(), handler)
        except LimitExceeded as exc:
            if not isinstance(handler, ChunkParser):
                handler.finish()
            self.stopped = exc
            return False
        if parsed.dtd_ignored:
            self.budget.remark(f"{name}: DTD ignored (no entity expanded)")
        if reader.problem is not None:
            self.problems.add(name, reader.problem)
        elif parsed.error is not None and not reader.cut:
            self.problems.add(name, parsed.error)
        if reader.cut:
            self.budget.note("max_scan_bytes", f"{name}: part read in part")
        return parsed.cut

    def read_text(
        self,
        name: str,
        make: Callable[[int], LinesHandler | ChunkParser],
        seen: set[str] | None = None,
    ) -> None:
        """Add the lines ``make(chars_left)`` finds in part ``name`` to the text; with
        ``seen``, only lines not in it (and add them to it)."""
        if self.text.full or not self.has(name):
            return
        handler = make(self.text.left)
        cut = self.parse(name, handler)
        lines = handler.lines
        if seen is not None:
            lines = [line for line in dict.fromkeys(lines) if line not in seen]
            seen.update(lines)
        self.text.extend(lines)
        if cut:
            self.text.mark_cut(name)

    def read_lines(self, names: Iterable[str], grammar: Grammar, *, unique: bool = False) -> None:
        """Text of parts ``names``; ``unique``: skip lines already read from these parts
        (slide layouts repeat the same placeholders and footers a dozen times)."""
        seen: set[str] | None = set() if unique else None
        for name in names:
            self.read_text(name, lambda left: TextBuilder(grammar, left), seen)

    def finish(self, text_name: str, embedded: str | None = None) -> Iterator[Member]:
        """Yield the text, then parts matching ``embedded`` raw; raise part problems last."""
        data = self.text.to_bytes(text_name)
        yield Member(text_name, data, is_text=True, truncated=self.text.cut)
        if self.stopped is not None:
            raise self.stopped
        if embedded is not None:
            infos = [self.archive.getinfo(name) for name in self.matching(embedded)]
            yield from raw_members(self.archive, infos, self.budget, self.problems)
        self.problems.raise_if_any()


def natural_key(name: str) -> tuple[object, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


class PropertiesHandler:
    """Values of document properties, one line each; named ones as ``name: value``.

    ``fields``: local names whose text is a value (``title``, ``keywords``).
    ``named``: local name → local name of the attribute naming it (custom properties:
    ``<property name="Classification"><vt:lpwstr>Secret</vt:lpwstr></property>``).
    """

    def __init__(self, fields: frozenset[str], named: Mapping[str, str], max_chars: int) -> None:
        self._fields = fields
        self._named = named
        self._left = max_chars
        self._depth = 0
        self._prefix = ""
        self._parts: list[str] = []
        self.lines: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if self._depth:
            self._depth += 1
            return
        local = tag.rpartition(" ")[2]
        if local in self._fields:
            self._depth, self._prefix = 1, ""
        elif local in self._named:
            label = attribute(attrs, self._named[local])
            self._depth, self._prefix = 1, f"{label}: " if label else ""

    def end(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1
            if not self._depth:
                self.finish()

    def data(self, text: str) -> None:
        if self._depth:
            self._left -= len(text)
            if self._left < 0:
                raise TextFull
            self._parts.append(text)

    def finish(self) -> None:
        value = "".join(self._parts).strip()
        if value:
            self.lines.append(self._prefix + value)
        self._parts = []
        self._depth = 0


class AttributesHandler:
    """The attributes of every element with local name ``local``, in document order."""

    def __init__(self, local: str) -> None:
        self._local = local
        self.found: list[dict[str, str]] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag.rpartition(" ")[2] == self._local:
            self.found.append(attrs)
            if len(self.found) > 100_000:
                raise TextFull

    def end(self, tag: str) -> None:
        pass

    def data(self, text: str) -> None:
        pass

    def finish(self) -> None:
        pass


def attribute(attrs: Mapping[str, str], local: str) -> str:
    """An attribute by local name, whatever its namespace (``r:id`` in two schemas)."""
    if local in attrs:
        return attrs[local]
    suffix = " " + local
    return next((v for k, v in attrs.items() if k.endswith(suffix)), "")
