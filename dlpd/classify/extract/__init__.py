"""Extraction: members of containers and text of documents, within the scan budget.

``extract(kind, stream, budget)`` is the one entry point; ``kind`` is what the file-type
sniffer called the stream. What comes out, by name:

- zip, tar: raw members named by their path in the archive (directories, links and
  devices skipped);
- gzip, bzip2, xz: one raw member named ``""`` (the caller names it after the file);
- a zip that is a document: one text member named after the main part
  (``word/document.xml``, ``xl/workbook.xml``, ``ppt/presentation.xml``, ``content.xml``
  for ODF), then embedded files (``word/embeddings/...``) as raw members;
- pdf: one text member named ``"text"`` (with OCR on, the text of image-only pages too);
- notebook: one text part per cell (``cell-12``), then ``metadata``;
- json: one text member of the strings that escapes hid (``"\\n"``, ``"\\u0041"``), decoded;
- sqlite, parquet, arrow: one text part per table, a row a line, ``column=value``;
- image: one text member read by OCR (when OCR is on and the image looks like a page).

Failures: ``ExtractionError`` for unreadable input; problems with single members are
raised after the last member was yielded; ``LimitExceeded`` when a hard budget runs out,
after what was found before it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import BinaryIO, cast

from dlpd.classify.extract.base import Extractor, Member
from dlpd.classify.extract.text import decode_text
from dlpd.classify.limits import Budget
from dlpd.errors import ExtractionError


def _lazy(module: str, function: str) -> Extractor:
    """An extractor imported when a file of its kind is first met: PDFium takes tens of
    ms to import, sqlite3, pyarrow and the OCR runner more, and even the archive, office and
    mail readers (zipfile, tarfile, email, the XML parsers) are a third of `dlpd scan`'s
    start-up; a scan that meets none of their kinds pays for none of them."""

    def run(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
        found = importlib.import_module(f"dlpd.classify.extract.{module}")
        return cast(Extractor, getattr(found, function))(stream, budget)

    return run


EXTRACTORS: Mapping[str, Extractor] = MappingProxyType(
    {
        "zip": _lazy("archive", "extract_zip"),
        "tar": _lazy("archive", "extract_tar"),
        "gzip": _lazy("streams", "extract_gzip"),
        "bzip2": _lazy("streams", "extract_bzip2"),
        "xz": _lazy("streams", "extract_xz"),
        "pdf": _lazy("pdf", "extract_pdf"),
        "ole": _lazy("ole", "extract_ole"),
        "mail": _lazy("mail", "extract_mail"),
        "notebook": _lazy("notebook", "extract_notebook"),
        "json": _lazy("notebook", "extract_json"),
        "sqlite": _lazy("sqlite", "extract_sqlite"),
        "parquet": _lazy("columnar", "extract_columnar"),
        "arrow": _lazy("columnar", "extract_columnar"),
        "image": _lazy("image", "extract_image"),
    }
)


def extract(kind: str, stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    """Members of ``stream`` read as ``kind``; ``ExtractionError`` for a kind we cannot read."""
    extractor = EXTRACTORS.get(kind)
    if extractor is None:
        raise ExtractionError(f"no extractor for {kind!r}")
    return extractor(stream, budget)


__all__ = ["EXTRACTORS", "Extractor", "Member", "decode_text", "extract"]
