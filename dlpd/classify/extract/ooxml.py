"""Word, Excel and PowerPoint (OOXML) text, the way the documents read.

Word splits runs anywhere (a card number can be ``41`` + ``11 1111 ...`` in two ``w:t``),
so a paragraph is the join of its runs. Markings live in headers and footers, labels in
document properties, so those are read too. Each document yields one text member
(``word/document.xml``, ``xl/workbook.xml``, ``ppt/presentation.xml``), then its embedded
files (``*/embeddings/*``: an xlsx inside a docx) as raw members.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from types import MappingProxyType

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.package import (
    AttributesHandler,
    Package,
    PropertiesHandler,
    attribute,
)
from dlpd.classify.extract.sheets import SheetText
from dlpd.classify.extract.xmltext import Grammar, TextBuilder, qnames
from dlpd.classify.limits import Budget

# Transitional and Strict (ISO 29500) namespaces of each vocabulary.
W = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",
)
A = (
    "http://schemas.openxmlformats.org/drawingml/2006/main",
    "http://purl.oclc.org/ooxml/drawingml/main",
)
X = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
P = (
    "http://schemas.openxmlformats.org/presentationml/2006/main",
    "http://purl.oclc.org/ooxml/presentationml/main",
)
M = (
    "http://schemas.openxmlformats.org/officeDocument/2006/math",
    "http://purl.oclc.org/ooxml/officeDocument/math",
)
MC = ("http://schemas.openxmlformats.org/markup-compatibility/2006",)

# Where the main part usually is; the package's own relationships have the last word
# (Word for the web writes ``word/document2.xml``).
MAIN_PARTS = ("word/document.xml", "xl/workbook.xml", "ppt/presentation.xml")
OFFICE_DOCUMENT = "/officeDocument"  # relationship type suffix, Transitional and Strict

WORD = Grammar(
    paragraphs=qnames(W, "p"),
    # delText: tracked deletions are still in the file, and leaks hide there.
    text=qnames(W, "t", "delText") | qnames(M, "t"),
    rows=qnames(W, "tr"),
    cells=qnames(W, "tc"),
    blocks=qnames(W, "txbxContent"),
    # Fallback repeats Choice (text boxes would double); pPr holds tab stops, not tabs;
    # rt is the ruby (furigana) over Japanese text, which would split the word it reads.
    skip=qnames(MC, "Fallback") | qnames(W, "pPr", "instrText", "rt"),
    chars=MappingProxyType(
        dict.fromkeys(qnames(W, "tab", "ptab"), "\t")
        | dict.fromkeys(qnames(W, "br", "cr"), "\n")
        | dict.fromkeys(qnames(W, "noBreakHyphen"), "-")
    ),
)

DRAWING = Grammar(  # slides, notes, masters, drawings; legacy PowerPoint comments
    paragraphs=qnames(A, "p") | qnames(P, "cm"),
    text=qnames(A, "t") | qnames(P, "text"),
    rows=qnames(A, "tr"),
    cells=qnames(A, "tc"),
    skip=qnames(MC, "Fallback"),
    chars=MappingProxyType(dict.fromkeys(qnames(A, "br"), "\n")),
)

SHARED_STRINGS = Grammar(
    paragraphs=qnames(X, "si"),
    text=qnames(X, "t"),
    skip=qnames(X, "rPh"),  # phonetic guide (furigana) repeats the text in kana
    keep_empty=True,
)

XL_COMMENTS = Grammar(paragraphs=qnames(X, "comment"), text=qnames(X, "t"), skip=qnames(X, "rPh"))

# SmartArt keeps its text in the diagram data part (the drawing part is a rendered copy).
SMARTART = r"{}/diagrams/data\d+\.xml"

CORE_FIELDS = frozenset(
    {"title", "subject", "keywords", "description", "category", "contentStatus"}
)


def is_ooxml(names: Sequence[str]) -> bool:
    """An OPC package with Word, Excel or PowerPoint parts (checked further on reading)."""
    return "[Content_Types].xml" in names and any(
        n.startswith(("word/", "xl/", "ppt/")) for n in names
    )


def extract_ooxml(archive: zipfile.ZipFile, budget: Budget) -> Iterator[Member] | None:
    """The document's text, or ``None`` when it has no XML main part we read (xlsb)."""
    pkg = Package(archive, budget, "document")
    main = _main_part(pkg)
    if main is None:
        return None
    pkg.read_text("docProps/core.xml", lambda left: PropertiesHandler(CORE_FIELDS, {}, left))
    pkg.read_text(
        "docProps/custom.xml",
        lambda left: PropertiesHandler(frozenset(), {"property": "name"}, left),
    )
    folder = main.partition("/")[0]
    {"word": _word, "xl": _excel, "ppt": _powerpoint}[folder](pkg, main)
    return pkg.finish(main, rf"{folder}/embeddings/.*")


def _main_part(pkg: Package) -> str | None:
    targets = [
        part
        for kind, part in _relationships(pkg, "_rels/.rels", "").values()
        if kind.endswith(OFFICE_DOCUMENT)
    ]
    for part in (*targets, *MAIN_PARTS):
        if pkg.has(part) and part.endswith(".xml") and part.startswith(("word/", "xl/", "ppt/")):
            return part
    return None


def _word(pkg: Package, main: str) -> None:
    pkg.read_lines(pkg.matching(r"word/header\d*\.xml"), WORD)
    pkg.read_lines([main], WORD)
    pkg.read_lines(pkg.matching(r"word/footer\d*\.xml"), WORD)
    pkg.read_lines(
        ["word/footnotes.xml", "word/endnotes.xml", *pkg.matching(r"word/comments\d*\.xml")],
        WORD,
    )
    pkg.read_lines(pkg.matching(SMARTART.format("word")), DRAWING)


def _powerpoint(pkg: Package, main: str) -> None:
    pkg.read_lines(pkg.matching(r"ppt/slides/slide\d+\.xml"), DRAWING)
    pkg.read_lines(pkg.matching(r"ppt/notesSlides/notesSlide\d+\.xml"), DRAWING)
    # Markings that show on every slide are often shapes on the master or its layouts.
    pkg.read_lines(
        pkg.matching(r"ppt/slide(Master|Layout)s/slide(Master|Layout)\d+\.xml"),
        DRAWING,
        unique=True,
    )
    pkg.read_lines(pkg.matching(r"ppt/comments/.*\.xml"), DRAWING)
    pkg.read_lines(pkg.matching(SMARTART.format("ppt")), DRAWING)


# -- Excel ------------------------------------------------------------------------------
def _excel(pkg: Package, main: str) -> None:
    folder, _, base = main.rpartition("/")
    rels = _relationships(pkg, f"{folder}/_rels/{base}.rels", folder)
    shared_part = next(
        (part for kind, part in rels.values() if kind.endswith("/sharedStrings")),
        "xl/sharedStrings.xml",
    )
    shared = TextBuilder(SHARED_STRINGS, pkg.budget.limits.max_text_bytes)
    if pkg.parse(shared_part, shared):
        pkg.budget.note("max_text_bytes", f"{shared_part}: strings cut")
    strings = shared.lines
    for name, part in _sheets(pkg, main, rels):
        pkg.text.add(name)
        pkg.read_text(part, lambda left: SheetText(strings, left))
    pkg.read_lines(pkg.matching(r"xl/comments\d*\.xml"), XL_COMMENTS)
    pkg.read_lines(pkg.matching(r"xl/drawings/drawing\d+\.xml"), DRAWING)
    pkg.read_lines(pkg.matching(SMARTART.format("xl")), DRAWING)


def _relationships(pkg: Package, rels: str, folder: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target part name) of the relationships part ``rels`` of
    a part in ``folder`` (targets are relative to it, or absolute from the root)."""
    handler = AttributesHandler("Relationship")
    pkg.parse(rels, handler)
    found = {}
    for attrs in handler.found:
        target = attrs.get("Target", "")
        part = target if target.startswith("/") else f"{folder}/{target}"
        found[attrs.get("Id", "")] = (attrs.get("Type", ""), _normalize(part))
    return found


def _normalize(part: str) -> str:
    parts: list[str] = []
    for piece in part.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _sheets(pkg: Package, main: str, rels: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    """(sheet name, part) in workbook order, then worksheets the workbook does not link."""
    handler = AttributesHandler("sheet")
    pkg.parse(main, handler)
    sheets = []
    for attrs in handler.found:
        _, part = rels.get(attribute(attrs, "id"), ("", ""))
        if pkg.has(part):
            sheets.append((attrs.get("name", ""), part))
    listed = {part for _, part in sheets}
    sheets += [("", p) for p in pkg.matching(r"xl/worksheets/[^/]+\.xml") if p not in listed]
    return sheets
