"""OpenDocument (odt, ods, odp) text: content, headers and footers, metadata.

Paragraphs (``text:p``, ``text:h``) mix text and spans freely; ``text:s`` stands for
``text:c`` spaces. Tables write cells tab-separated; repeated rows and cells (a sheet ends
in ``number-rows-repeated="1048000"`` empty rows) are written at most ``MAX_REPEAT``
times. One text member, ``content.xml``, then embedded objects as raw members.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from types import MappingProxyType

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.package import Package, PropertiesHandler
from dlpd.classify.extract.xmltext import Grammar, qnames
from dlpd.classify.extract.zipread import READ_ERRORS, read_member
from dlpd.classify.limits import Budget

TEXT = ("urn:oasis:names:tc:opendocument:xmlns:text:1.0",)
TABLE = ("urn:oasis:names:tc:opendocument:xmlns:table:1.0",)
DRAW = ("urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",)
OFFICE = ("urn:oasis:names:tc:opendocument:xmlns:office:1.0",)
SVG = ("urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",)
META = ("urn:oasis:names:tc:opendocument:xmlns:meta:1.0",)
DC = ("http://purl.org/dc/elements/1.1/",)

MIMETYPE_PREFIX = b"application/vnd.oasis.opendocument"
MANIFEST = "META-INF/manifest.xml"


def _one(names: frozenset[str]) -> str:
    (name,) = names
    return name


_ROWS_REPEATED = f"{TABLE[0]} number-rows-repeated"
_COLUMNS_REPEATED = f"{TABLE[0]} number-columns-repeated"

ODF = Grammar(
    paragraphs=qnames(TEXT, "p", "h"),
    rows=qnames(TABLE, "table-row"),
    cells=qnames(TABLE, "table-cell", "covered-table-cell"),
    blocks=qnames(DRAW, "text-box") | qnames(TEXT, "note-body") | qnames(OFFICE, "annotation"),
    # A note's citation ("1") would glue onto the number it follows; ruby text
    # (furigana) would split the word it reads.
    skip=qnames(TEXT, "note-citation", "ruby-text")
    | qnames(DC, "creator", "date")
    | qnames(META, "date-string")
    | qnames(SVG, "title", "desc"),
    chars=MappingProxyType(
        dict.fromkeys(qnames(TEXT, "tab"), "\t") | dict.fromkeys(qnames(TEXT, "line-break"), "\n")
    ),
    spaces=(_one(qnames(TEXT, "s")), f"{TEXT[0]} c"),
    repeats=MappingProxyType(
        dict.fromkeys(qnames(TABLE, "table-row"), _ROWS_REPEATED)
        | dict.fromkeys(qnames(TABLE, "table-cell", "covered-table-cell"), _COLUMNS_REPEATED)
    ),
    labels=MappingProxyType(dict.fromkeys(qnames(TABLE, "table"), f"{TABLE[0]} name")),
)

META_FIELDS = frozenset({"title", "subject", "description", "keyword"})


def is_odf(archive: zipfile.ZipFile) -> bool:
    """An OpenDocument package: its ``mimetype`` says so, or it has content and manifest."""
    names = set(archive.namelist())
    if "mimetype" in names:
        try:
            with archive.open("mimetype") as handle:
                if handle.read(len(MIMETYPE_PREFIX)) == MIMETYPE_PREFIX:
                    return True
        except READ_ERRORS:
            pass
    return {"content.xml", MANIFEST} <= names


def extract_odf(archive: zipfile.ZipFile, budget: Budget) -> Iterator[Member]:
    pkg = Package(archive, budget, "document")
    if _is_encrypted(pkg):
        pkg.problems.add("content.xml", "encrypted")
        return pkg.finish("content.xml")
    pkg.read_text(
        "meta.xml", lambda left: PropertiesHandler(META_FIELDS, {"user-defined": "name"}, left)
    )
    pkg.read_lines(["styles.xml", "content.xml"], ODF)
    pkg.read_lines(pkg.matching(r"Object \d+/content\.xml"), ODF)
    return pkg.finish("content.xml", r"Object \d+")


def _is_encrypted(pkg: Package) -> bool:
    """A password-protected document: the manifest describes how its parts are encrypted."""
    if not pkg.has(MANIFEST):
        return False
    got = read_member(pkg.archive, pkg.archive.getinfo(MANIFEST), pkg.budget)
    return b"encryption-data" in got.data
