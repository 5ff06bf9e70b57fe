"""PDF text through pypdf: document info, then every page's text, as one text member.

pypdf joins the pieces of a ``TJ`` array and consecutive ``Tj`` on a line, so a number
drawn in pieces comes out whole. Encrypted files are opened with the empty password (the
usual "permissions only" encryption); anything else is ``ExtractionError("encrypted")``.
pypdf runs with ``strict=False``: it repairs what it can and reports through ``logging``,
which we leave to the application to configure. Malformed input makes pypdf raise almost
any exception type, so this adapter translates them all, here and only here.

Scanned pages: a page with (almost) no text layer that holds an image is drawn and read
by OCR (``classify/ocr.py``) after the text member, as a member ``"ocr"``; with OCR off
a remark says which pages were not read.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import DictionaryObject

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import DocumentText, Problems
from dlpd.classify.extract.scans import ocr_pages
from dlpd.classify.limits import Budget
from dlpd.classify.ocr import PageReader, describe_pages, input_fd, render_dpi, renderer_missing
from dlpd.errors import DlpdError, ExtractionError, LimitExceeded

TEXT_NAME = "text"
# "%%EOF" ends a complete PDF; some writers append a little garbage after it.
_TAIL = 4096
# A page with fewer non-space characters of text than this (a page number, a stamp
# drawn as text) and an image on it is a scan: its text is in the pixels.
SCANNED_TEXT_CHARS = 20
# How far an image is looked for: XObjects of a page and of its forms, nested this deep,
# and the first bytes of its content for an inline image ("BI ... ID ... EI").
_FORM_DEPTH = 2
_MAX_XOBJECTS = 64
_INLINE_SCAN = 1024 * 1024
_INLINE_IMAGE = re.compile(rb"(?:^|\s)BI\s")

# pypdf narrates every oddity of a broken file and quotes the file's bytes while at it
# ("Invalid Elementary Object starting with b'...'"). Those bytes must not reach any log:
# the file's outcome and reason say what went wrong.
_PYPDF_LOG = logging.getLogger("pypdf")
_PYPDF_LOG.addHandler(logging.NullHandler())
_PYPDF_LOG.propagate = False


def extract_pdf(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    reader = _open(stream)
    text = DocumentText(budget)
    problems = Problems("pdf")
    _info(reader, text)
    try:
        pages = reader.pages
        count = len(pages)
    except Exception as exc:  # pypdf's errors on malformed input vary
        raise ExtractionError(f"malformed pdf ({type(exc).__name__})") from exc
    stopped: LimitExceeded | None = None
    scanned: list[int] = []  # 1 first
    for number in range(count):
        if text.full:
            text.mark_cut(TEXT_NAME)
            break
        try:
            budget.charge_member()  # also checks the time between pages
            page_text = _page_text(pages, number)
            budget.charge_bytes(len(page_text))
        except LimitExceeded as exc:  # raised after the text of the pages before
            stopped = exc
            break
        except _PageError as exc:
            problems.add(f"page {number + 1}", str(exc))
            continue
        text.add(page_text[: max(text.left, 0) + 1])
        if _is_scanned(pages[number], page_text):
            scanned.append(number + 1)
    truncated = _is_truncated(stream)
    data = text.to_bytes(TEXT_NAME)
    yield Member(TEXT_NAME, data, is_text=True, truncated=text.cut or truncated)
    if scanned:
        yield from _ocr(stream, pages, scanned, budget)
    if stopped is not None:
        raise stopped
    if truncated:
        raise ExtractionError("truncated pdf (no %%EOF)")
    problems.raise_if_any()


class _PageError(Exception):
    """One page's text could not be extracted; the message names the error type."""


def _page_text(pages: Sequence[PageObject], number: int) -> str:
    try:
        return pages[number].extract_text()
    except Exception as exc:  # one bad page must not lose the others
        raise _PageError(type(exc).__name__) from exc


def _ocr(stream: BinaryIO, pages: Sequence[PageObject], scanned: list[int],
         budget: Budget) -> Iterator[Member]:
    """The scanned pages ``scanned`` (1 first) drawn and read by OCR, or a remark why not."""
    options = budget.options.ocr
    why_not = "OCR is off" if options is None else renderer_missing()
    if options is None or why_not is not None:
        budget.remark(f"image-only {describe_pages(scanned)} not read: {why_not}")
        return
    reader = PageReader(options, budget)
    fd = input_fd(stream)
    try:
        yield from ocr_pages(
            scanned,
            lambda number: reader.read_pdf_page(fd, number, _dpi(pages, number)),
            reader, budget, describe_pages)
    finally:
        os.close(fd)


def _dpi(pages: Sequence[PageObject], number: int) -> int:
    try:
        box = pages[number - 1].cropbox
        return render_dpi(float(box.width), float(box.height))
    except Exception:  # a broken box: the renderer's own bound still holds
        return render_dpi(0.0, 0.0)


def _is_scanned(page: PageObject, page_text: str) -> bool:
    """Little text and an image: a scanned page, whose text only OCR can read."""
    if sum(1 for ch in page_text if not ch.isspace()) >= SCANNED_TEXT_CHARS:
        return False
    try:
        return _holds_image(page.get("/Resources"), 0) or _inline_image(page)
    except Exception:  # a malformed resource dictionary: no image we can tell of
        return False


def _holds_image(resources: object, depth: int) -> bool:
    resources = _resolve(resources)
    if not isinstance(resources, DictionaryObject):
        return False
    xobjects = _resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        return False
    for seen, ref in enumerate(xobjects.values()):
        if seen >= _MAX_XOBJECTS:
            break
        xobject = _resolve(ref)
        if not isinstance(xobject, DictionaryObject):
            continue
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            return True
        if (subtype == "/Form" and depth < _FORM_DEPTH
                and _holds_image(xobject.get("/Resources"), depth + 1)):
            return True
    return False


def _inline_image(page: PageObject) -> bool:
    contents = page.get_contents()
    if contents is None:
        return False
    return _INLINE_IMAGE.search(contents.get_data()[:_INLINE_SCAN]) is not None


def _resolve(value: object) -> object:
    get_object = getattr(value, "get_object", None)
    return get_object() if get_object is not None else value


def _open(stream: BinaryIO) -> PdfReader:
    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise ExtractionError("encrypted")
    except DependencyError as exc:
        # AES needs the ``cryptography`` package; RC4 works without it.
        raise ExtractionError("encrypted (AES support not installed)") from exc
    except DlpdError:
        raise
    except Exception as exc:  # pypdf's errors on malformed input vary
        raise ExtractionError(f"malformed pdf ({type(exc).__name__})") from exc
    return reader


def _info(reader: PdfReader, text: DocumentText) -> None:
    """Title, subject and keywords of the document information dictionary."""
    try:
        info = reader.metadata
        values = [info.title, info.subject, info.keywords] if info is not None else []
    except Exception:  # a broken info dictionary is no reason to stop
        return
    for value in values:
        if value:
            text.add(str(value))


def _is_truncated(stream: BinaryIO) -> bool:
    size = stream.seek(0, 2)
    stream.seek(max(0, size - _TAIL))
    return b"%%EOF" not in stream.read(_TAIL)
