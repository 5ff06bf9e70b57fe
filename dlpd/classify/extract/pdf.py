"""PDF text through pypdf: document info, then every page's text, as one text member.

pypdf joins the pieces of a ``TJ`` array and consecutive ``Tj`` on a line, so a number
drawn in pieces comes out whole. Encrypted files are opened with the empty password (the
usual "permissions only" encryption); anything else is ``ExtractionError("encrypted")``.
pypdf runs with ``strict=False``: it repairs what it can and reports through ``logging``,
which we leave to the application to configure. Malformed input makes pypdf raise almost
any exception type, so this adapter translates them all, here and only here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import DocumentText, Problems
from dlpd.classify.limits import Budget
from dlpd.errors import DlpdError, ExtractionError, LimitExceeded

TEXT_NAME = "text"
# "%%EOF" ends a complete PDF; some writers append a little garbage after it.
_TAIL = 4096

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
    truncated = _is_truncated(stream)
    data = text.to_bytes(TEXT_NAME)
    yield Member(TEXT_NAME, data, is_text=True, truncated=text.cut or truncated)
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
