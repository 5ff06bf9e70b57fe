"""PDF text through PDFium (``pypdfium2``): document info, then every page's text, as one
text member. The only importer of ``pypdfium2``.

PDFium is C++ called through ctypes, which lets go of the GIL for each call, so its work
does not stop the other scan threads. It is not thread-safe, though, not even across
documents, and ``pypdfium2`` does not serialise calls (its docs: "Incompatibility with
Threading"): every PDFium call here runs under ``_PDFIUM``, taken per page so that two
threads' documents take turns instead of one waiting out the other's whole file. The
raw API is used, with handles closed explicitly in ``finally`` blocks under the lock:
the helper classes close through finalizers, which could run in any thread, outside it.

PDFium reads the file where it lies: a buffered file (``max_buffer_bytes`` and members)
is handed over as memory, without a copy; a streamed top-level file through a read
callback on the descriptor the classifier opened (no path is opened again, nothing is
copied whole). Encrypted files are opened with the empty password (the usual
"permissions only" encryption); anything else is ``ExtractionError("encrypted")``.
PDFium repairs broken cross-reference tables; what it cannot open is named by its error
code, never by a message of its own.

Scanned pages: a page with (almost) no text layer that holds an image (itself or in a
form it draws) is drawn and read by OCR (``classify/ocr.py``) after the text member, as
a member ``"ocr"``; with OCR off a remark says which pages were not read.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import pypdfium2.raw as pdfium_c

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import DocumentText, Problems
from dlpd.classify.extract.scans import ocr_pages
from dlpd.classify.limits import Budget
from dlpd.classify.ocr import PageReader, describe_pages, input_fd, render_dpi, renderer_missing
from dlpd.errors import ExtractionError, LimitExceeded

TEXT_NAME = "text"
# "%%EOF" ends a complete PDF; some writers append a little garbage after it.
_TAIL = 4096
# A page with fewer non-space characters of text than this (a page number, a stamp
# drawn as text) and an image on it is a scan: its text is in the pixels.
SCANNED_TEXT_CHARS = 20
# How far an image is looked for: objects of a page and of the forms it draws, nested
# this deep, at most this many objects in all.
_FORM_DEPTH = 2
_MAX_OBJECTS = 10_000
# The document information entries where titles and markings are written.
_INFO_KEYS = (b"Title", b"Subject", b"Keywords")

# Every PDFium call, whatever the document, whatever the thread.
_PDFIUM = threading.Lock()

# FPDF_GetLastError after a failed open: our own words, never PDFium's.
_OPEN_ERRORS = {
    pdfium_c.FPDF_ERR_FILE: "malformed pdf (unreadable)",
    pdfium_c.FPDF_ERR_FORMAT: "malformed pdf (not a pdf or corrupted)",
    pdfium_c.FPDF_ERR_PASSWORD: "encrypted",
    pdfium_c.FPDF_ERR_SECURITY: "encrypted (unsupported security handler)",
}


def extract_pdf(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    text = DocumentText(budget)
    problems = Problems("pdf")
    scanned: dict[int, int] = {}  # page number (1 first) -> the dpi to draw it at
    # All of PDFium's work is done, and the document closed, before the first yield: a
    # generator left unfinished must not keep a document open (or the lock held).
    stopped = _read(stream, budget, text, problems, scanned)
    truncated = _is_truncated(stream)
    data = text.to_bytes(TEXT_NAME)
    yield Member(TEXT_NAME, data, is_text=True, truncated=text.cut or truncated)
    if scanned:
        yield from _ocr(stream, scanned, budget)
    if stopped is not None:
        raise stopped
    if truncated:
        raise ExtractionError("truncated pdf (no %%EOF)")
    problems.raise_if_any()


def _read(stream: BinaryIO, budget: Budget, text: DocumentText, problems: Problems,
          scanned: dict[int, int]) -> LimitExceeded | None:
    """Info and page text into ``text``; the limit that stopped the pages, if one did."""
    source = _Source(stream)
    try:
        with _PDFIUM:
            document = _open(source)
        try:
            with _PDFIUM:
                _info(document, text)
                count = pdfium_c.FPDF_GetPageCount(document)
            for index in range(max(count, 0)):
                if text.full:
                    text.mark_cut(TEXT_NAME)
                    break
                try:
                    budget.charge_member()  # also checks the time between pages
                    with _PDFIUM:
                        page_text, dpi = _page(document, index, text.left)
                    budget.charge_bytes(len(page_text))
                except LimitExceeded as exc:  # raised after the text of the pages before
                    return exc
                except _PageError as exc:
                    problems.add(f"page {index + 1}", str(exc))
                    continue
                text.add(page_text)
                if dpi is not None:
                    scanned[index + 1] = dpi
        finally:
            with _PDFIUM:
                pdfium_c.FPDF_CloseDocument(document)
    finally:
        source.close()  # after the document: PDFium reads from it until then
    return None


class _PageError(Exception):
    """One page could not be read; the message is our own short reason."""


def _page(document: Any, index: int, left: int) -> tuple[str, int | None]:
    """Page ``index``'s text (at most ``left`` + 1 characters) and, for a scanned page,
    the dpi to draw it at for OCR. Under ``_PDFIUM``."""
    page = pdfium_c.FPDF_LoadPage(document, index)
    if not page:
        raise _PageError("page not loaded")
    try:
        textpage = pdfium_c.FPDFText_LoadPage(page)
        if not textpage:
            raise _PageError("text not loaded")
        try:
            page_text = _text(textpage, max(left, 0) + 1)
        finally:
            pdfium_c.FPDFText_ClosePage(textpage)
        if not _is_scanned(page, page_text):
            return page_text, None
        width, height = pdfium_c.FPDF_GetPageWidthF(page), pdfium_c.FPDF_GetPageHeightF(page)
        return page_text, render_dpi(float(width), float(height))
    finally:
        pdfium_c.FPDF_ClosePage(page)


def _text(textpage: Any, most: int) -> str:
    count = min(pdfium_c.FPDFText_CountChars(textpage), most)
    if count <= 0:
        return ""
    buffer = (ctypes.c_ushort * (count + 1))()
    written = pdfium_c.FPDFText_GetText(textpage, 0, count, buffer)  # with the final NUL
    raw = ctypes.string_at(buffer, max(0, min(written - 1, count)) * 2)
    # PDFium ends lines with CRLF and writes U+FFFE for a hyphen it found at a line end.
    return raw.decode("utf-16-le", "replace").replace("\r\n", "\n").replace("\ufffe", "-")


def _is_scanned(page: Any, page_text: str) -> bool:
    """Little text and an image: a scanned page, whose text only OCR can read."""
    if _has_text(page_text):
        return False
    budget = [_MAX_OBJECTS]
    count = pdfium_c.FPDFPage_CountObjects(page)
    return _holds_image(count, lambda i: pdfium_c.FPDFPage_GetObject(page, i), 0, budget)


def _has_text(page_text: str) -> bool:
    """At least ``SCANNED_TEXT_CHARS`` non-space characters: looks no further (a page of
    text is decided by its first words, not counted whole)."""
    seen = 0
    for ch in page_text:
        if not ch.isspace():
            seen += 1
            if seen >= SCANNED_TEXT_CHARS:
                return True
    return False


def _holds_image(count: int, get: Any, depth: int, budget: list[int]) -> bool:
    for i in range(max(count, 0)):
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        obj = get(i)
        kind = pdfium_c.FPDFPageObj_GetType(obj) if obj else None
        if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            return True
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < _FORM_DEPTH:
            inner = pdfium_c.FPDFFormObj_CountObjects(obj)

            def get_inner(j: int, form: Any = obj) -> Any:
                return pdfium_c.FPDFFormObj_GetObject(form, j)

            if _holds_image(inner, get_inner, depth + 1, budget):
                return True
    return False


def _info(document: Any, text: DocumentText) -> None:
    """Title, subject and keywords of the document information dictionary."""
    for key in _INFO_KEYS:
        tag = key + b"\0"
        size = pdfium_c.FPDF_GetMetaText(document, tag, None, 0)  # bytes, with the NUL
        if size <= 2:
            continue
        if size > 2 * (max(text.left, 0) + 1):  # longer than the text we may still take
            text.mark_cut(TEXT_NAME)
            continue
        buffer = ctypes.create_string_buffer(size)
        pdfium_c.FPDF_GetMetaText(document, tag, buffer, size)
        text.add(buffer.raw[: size - 2].decode("utf-16-le", "replace"))


class _Source:
    """What PDFium reads: the memory of a buffer (``io.BytesIO``: its own bytes, not a
    copy), else the stream through a read callback. Must outlive the document."""

    def __init__(self, stream: BinaryIO) -> None:
        self._view: memoryview | None = None
        self.memory: Any = None
        self.access: Any = None
        getbuffer = getattr(stream, "getbuffer", None)
        if getbuffer is not None:
            self._view = getbuffer()
            self.size = self._view.nbytes
            if self.size:
                self.memory = (ctypes.c_char * self.size).from_buffer(self._view)
            return
        self.size = stream.seek(0, os.SEEK_END)
        self.access = pdfium_c.FPDF_FILEACCESS()
        self.access.m_FileLen = self.size
        self.access.m_GetBlock = type(self.access.m_GetBlock)(_BlockReader(stream))
        self.access.m_Param = None

    def close(self) -> None:
        # The ctypes array exports the BytesIO's buffer: drop it before releasing the view.
        self.memory = None
        self.access = None
        if self._view is not None:
            self._view.release()
            self._view = None


class _BlockReader:
    """PDFium's ``m_GetBlock``: bytes at ``position`` of the stream into its buffer.
    Called from C with the GIL held; an exception must not cross back into C."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        # A file object reads straight into PDFium's buffer; any other stream by a copy.
        self._readinto: Callable[[Any], int] | None = getattr(stream, "readinto", None)

    def __call__(self, _param: object, position: int, buffer: Any, size: int) -> int:
        try:
            self._stream.seek(position)
            address = ctypes.addressof(buffer.contents)
            if self._readinto is not None:
                return int(self._readinto((ctypes.c_ubyte * size).from_address(address)) == size)
            data = self._stream.read(size)
            ctypes.memmove(address, data, len(data))
            return int(len(data) == size)
        except (OSError, ValueError):  # a read error is PDFium's "no data" there
            return 0


def _open(source: _Source) -> Any:
    """The document, or ``ExtractionError`` with our reason. Under ``_PDFIUM``."""
    if source.size == 0:
        raise ExtractionError("malformed pdf (empty)")
    if source.memory is not None:
        document = pdfium_c.FPDF_LoadMemDocument64(source.memory, source.size, None)
    else:
        document = pdfium_c.FPDF_LoadCustomDocument(ctypes.byref(source.access), None)
    if not document:
        error = pdfium_c.FPDF_GetLastError()
        raise ExtractionError(_OPEN_ERRORS.get(error, f"malformed pdf (error {error})"))
    return document


def _ocr(stream: BinaryIO, scanned: dict[int, int], budget: Budget) -> Iterator[Member]:
    """The scanned pages (1 first) drawn and read by OCR, or a remark why not."""
    numbers = sorted(scanned)
    options = budget.options.ocr
    why_not = "OCR is off" if options is None else renderer_missing()
    if options is None or why_not is not None:
        budget.remark(f"image-only {describe_pages(numbers)} not read: {why_not}")
        return
    reader = PageReader(options, budget)
    fd = input_fd(stream)
    try:
        yield from ocr_pages(
            numbers,
            lambda number: reader.read_pdf_page(fd, number, scanned[number]),
            reader, budget, describe_pages)
    finally:
        os.close(fd)


def _is_truncated(stream: BinaryIO) -> bool:
    size = stream.seek(0, 2)
    stream.seek(max(0, size - _TAIL))
    return b"%%EOF" not in stream.read(_TAIL)
