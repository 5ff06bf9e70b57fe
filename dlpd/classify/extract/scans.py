"""The OCR of a file's scanned pages, shared by images and PDFs: each page read in turn
while the file's OCR bounds allow, one text member ``"ocr"`` of what was read.

What was not read is said: pages past ``ocr_max_pages`` or the file's OCR time are one
note (limit_exceeded) naming them, a page the engine could not read is a note naming it;
the scan goes on either way. A page that gave no text (a blank separator sheet, an
image stream the renderer could not decode) is a remark: nothing was cut, but a reader
should know that page said nothing to OCR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import DocumentText
from dlpd.classify.limits import Budget
from dlpd.classify.ocr import OcrFailed, PageReader

OCR_NAME = "ocr"


def ocr_pages(numbers: list[int], read_page: Callable[[int], str], reader: PageReader,
              budget: Budget, label: Callable[[list[int]], str]) -> Iterator[Member]:
    """Read the pages ``numbers`` (1 first) through ``read_page``; ``label(numbers)``
    names pages in notes (``"TIFF pages 3-5"``)."""
    text = DocumentText(budget)
    silent: list[int] = []
    for done, number in enumerate(numbers):
        stop = reader.stop_reason()
        if stop is not None:
            budget.note("ocr", f"{label(numbers[done:])} not read ({stop})")
            break
        try:
            page_text = read_page(number)
        except OcrFailed as exc:
            budget.note("ocr", f"{label([number])}: {exc}")
            continue
        page_text = page_text.strip()
        if not page_text:
            silent.append(number)
        text.add(page_text)
    if silent:
        budget.remark(f"{label(silent)}: OCR found no text")
    data = text.to_bytes(OCR_NAME)
    if data:
        yield Member(OCR_NAME, data, is_text=True, via="ocr")
