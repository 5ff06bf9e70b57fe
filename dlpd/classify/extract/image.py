"""Scanned pages in image files (PNG, TIFF, JPEG), read by OCR: one text member "ocr".

The header is read first (``imagesize``): an image that declares more pixels than a page
could hold is a bomb and is not handed to the engine (noted: limit_exceeded); a photo, a
plot or an icon is not page-shaped and not worth seconds of OCR (a remark says so, the
outcome stays ok). Each page of a multi-page TIFF is judged, and read, on its own, up to
``ocr_max_pages`` and within the file's OCR time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.scans import ocr_pages
from dlpd.classify.imagesize import Frame, ImageHeader, is_oversized, not_a_page, read_header
from dlpd.classify.limits import Budget
from dlpd.classify.ocr import PageReader, describe_pages, input_fd
from dlpd.errors import ExtractionError
from dlpd.model import OcrOptions

# TIFF directories listed at most: config allows ocr_max_pages up to this many.
_MAX_FRAMES = 10_000
_HEADER_READ = 64 * 1024  # no header structure read here is bigger


def extract_image(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    def read_at(offset: int, size: int) -> bytes:
        stream.seek(offset)
        return stream.read(min(size, _HEADER_READ))

    header = read_header(read_at, _MAX_FRAMES)
    if header is None:
        raise ExtractionError("malformed image header")
    pages = _pages(header, budget)
    options = budget.options.ocr
    if pages and options is None:
        budget.remark(f"{_what(header, [f.index + 1 for f in pages])} not read: OCR is off")
    elif pages and options is not None:
        yield from _read(stream, header, pages, options, budget)
    if not header.complete:
        raise ExtractionError(f"truncated {header.format}")


def _pages(header: ImageHeader, budget: Budget) -> list[Frame]:
    """The frames worth OCR; the others are noted (bombs) or remarked (not pages)."""
    pages: list[Frame] = []
    skipped: dict[str, list[int]] = {}
    for frame in header.frames:
        if frame.thumbnail:
            continue
        if is_oversized(frame):
            budget.note("ocr", f"{_label(header, frame)} not read: declares "
                               f"{frame.width}x{frame.height} pixels")
            continue
        why = not_a_page(frame)
        if why is None:
            pages.append(frame)
        else:
            skipped.setdefault(why, []).append(frame.index + 1)
    # Icons, plots and photos that are no page are not OCR work left undone: a remark on
    # every image of a tree would drown the ones that matter (a scan not read). Only a
    # multi-page TIFF with some pages read says which of its pages were not.
    if pages:
        for why, numbers in skipped.items():
            budget.remark(f"{_what(header, numbers)} not read by OCR: {why}")
    if header.more:
        budget.note("ocr", f"TIFF pages past {_MAX_FRAMES} not listed")
    return pages


def _read(stream: BinaryIO, header: ImageHeader, pages: list[Frame], options: OcrOptions,
          budget: Budget) -> Iterator[Member]:
    reader = PageReader(options, budget)
    multi = len(header.frames) > 1
    fd = input_fd(stream)
    try:
        # The engine counts a TIFF's directories from 0; people count pages from 1.
        yield from ocr_pages(
            [frame.index + 1 for frame in pages],
            lambda number: reader.read_image(fd, number - 1 if multi else None),
            reader, budget,
            lambda numbers: _what(header, numbers))
    finally:
        os.close(fd)


def _label(header: ImageHeader, frame: Frame) -> str:
    return _what(header, [frame.index + 1])


def _what(header: ImageHeader, numbers: list[int]) -> str:
    return f"TIFF {describe_pages(numbers)}" if header.format == "tiff" else "image"
