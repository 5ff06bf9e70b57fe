"""OCR of scanned documents: image headers, page-shaped images, image-only PDF pages.

Scans are drawn by Pillow with the IPA Gothic font at 300 dpi (tests/scans.py) and read
by the real tesseract and pdftoppm; each bad input ends in a stated outcome.
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import time
import zlib
from pathlib import Path

import pytest
import scans
from corpus_formats import pdf_bytes
from PIL import Image
from pypdf import PdfReader, PdfWriter

from dlpd.classify.extract import Member, extract
from dlpd.classify.imagesize import Frame, is_oversized, not_a_page, read_header
from dlpd.classify.limits import Budget, Limits
from dlpd.classify.ocr import describe_pages, missing, render_dpi
from dlpd.errors import ExtractionError
from dlpd.model import ExtractOptions, OcrOptions

needs_ocr = pytest.mark.skipif(
    missing(("jpn", "eng")) is not None or shutil.which("pdftoppm") is None
    or scans.FONT is None,
    reason="tesseract with jpn+eng, pdftoppm or the IPA Gothic font is not installed")


ON = OcrOptions()


def budget(ocr: OcrOptions | None = ON, limits: Limits | None = None) -> Budget:
    return Budget(limits or Limits(), options=ExtractOptions(ocr=ocr))


def run(kind: str, data: bytes, b: Budget) -> list[Member]:
    return list(extract(kind, io.BytesIO(data), b))


def ocr_text(found: list[Member]) -> str:
    (member,) = [m for m in found if m.name == "ocr"]
    assert member.is_text and member.via == "ocr" and not member.part
    return member.data.decode()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A valid little PNG whose header declares ``width`` x ``height`` 1-bit pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + png_chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def gaihi() -> Image.Image:
    return scans.page(scans.GAIHI, stamp="社外秘")


@pytest.fixture(scope="module")
def itar() -> Image.Image:
    return scans.page(scans.ITAR, size=scans.LETTER)


# -- headers (pure) ---------------------------------------------------------------------
def reader_of(data: bytes):  # type: ignore[no-untyped-def]
    return lambda offset, size: data[offset:offset + size]


def test_header_sizes_of_scanner_formats(gaihi: Image.Image) -> None:
    for data, fmt in ((scans.png(gaihi), "png"), (scans.jpeg(gaihi), "jpeg"),
                      (scans.tiff([gaihi, gaihi], fax=True), "tiff")):
        header = read_header(reader_of(data), 100)
        assert header is not None and header.format == fmt and header.complete
        assert all((f.width, f.height) == scans.A4 for f in header.frames)
        assert all(round(f.xdpi or 0) == 300 for f in header.frames)
        assert all(not_a_page(f) is None for f in header.frames)
    tiff_header = read_header(reader_of(scans.tiff([gaihi, gaihi], fax=True)), 100)
    assert tiff_header is not None and [f.index for f in tiff_header.frames] == [0, 1]


def test_what_is_not_a_page() -> None:
    assert not_a_page(Frame(0, 640, 480)) == "too small for a scanned page"  # a photo
    assert not_a_page(Frame(0, 6000, 1500)) == "not page-shaped"  # a panorama, a plot
    assert not_a_page(Frame(0, 2048, 2048)) == "not page-shaped"  # a microscope field
    assert not_a_page(Frame(0, 3508, 2480)) is None  # A4 scanned landscape
    # Fax in standard mode: 204 x 98 dpi, so the pixels are twice as tall as wide.
    assert not_a_page(Frame(0, 1728, 1143, 204.0, 98.0)) is None
    # Compared in inches: 1728 x 2400 pixels at 204 x 98 dpi is 8.5 x 24.5 in, no page.
    assert not_a_page(Frame(0, 1728, 2400)) is None
    assert not_a_page(Frame(0, 1728, 2400, 204.0, 98.0)) == "not page-shaped"


def test_a_bomb_is_sized_from_its_header() -> None:
    header = read_header(reader_of(png_declaring(100_000, 100_000)), 100)
    assert header is not None and is_oversized(header.frames[0])
    assert not is_oversized(Frame(0, *scans.A4))


def test_hostile_headers_end() -> None:
    # A TIFF directory whose "next" points at itself lists one page and stops.
    ifd = struct.pack("<H", 2) + struct.pack("<HHII", 256, 4, 1, 2480)
    ifd += struct.pack("<HHII", 257, 4, 1, 3508) + struct.pack("<I", 8)
    header = read_header(reader_of(b"II*\x00" + struct.pack("<I", 8) + ifd), 100)
    assert header is not None and len(header.frames) == 1
    png = png_declaring(3000, 4000)
    assert read_header(reader_of(png[:20]), 100) is None  # IHDR cut
    cut = read_header(reader_of(png[:-12]), 100)  # IEND cut
    assert cut is not None and not cut.complete
    assert read_header(reader_of(b"\xff\xd8\xff" + b"\x00" * 40), 100) is None


def test_page_lists_and_render_resolution() -> None:
    assert describe_pages([3]) == "page 3"
    assert describe_pages([21, 3, 22, 23]) == "pages 3, 21-23"
    assert render_dpi(595, 842) == 300  # A4 at 300 dpi
    assert render_dpi(14_400, 14_400) == 35  # a 200-inch page stays under 7000 px


# -- images -----------------------------------------------------------------------------
@needs_ocr
def test_png_and_jpeg_scans_are_read(gaihi: Image.Image, itar: Image.Image) -> None:
    text = ocr_text(run("image", scans.png(gaihi), budget()))
    assert "該非判定書" in text and "社外秘" in text
    text = ocr_text(run("image", scans.jpeg(itar), budget()))
    assert "EXPORT CONTROLLED" in text


@needs_ocr
def test_fax_tiff_pages_each_read(tmp_path: Path) -> None:
    nda, ssn = scans.page(scans.NDA, signed=True), scans.page(scans.SSN)
    path = tmp_path / "fax.tif"
    path.write_bytes(scans.tiff([nda, ssn], fax=True))
    b = budget()
    with path.open("rb") as stream:  # a big file comes as a real file, not a BytesIO
        text = ocr_text(list(extract("image", stream, b)))
    assert "秘密保持契約" in text and "212-48-3197" in text
    assert b.notes == [] and b.remarks == []


@needs_ocr
def test_tiff_pages_past_max_pages_are_noted(gaihi: Image.Image, itar: Image.Image) -> None:
    data = scans.tiff([gaihi, itar, itar, itar])
    b = budget(OcrOptions(max_pages=2))
    text = ocr_text(run("image", data, b))
    assert "該非判定書" in text and "EXPORT CONTROLLED" in text
    assert b.notes == [("ocr", "TIFF pages 3-4 not read (ocr_max_pages is 2)")]


@needs_ocr
def test_images_that_are_not_pages_are_not_read() -> None:
    chart = scans.page(scans.ITAR, size=(1600, 600))
    b = budget()
    assert run("image", scans.png(chart), b) == []
    # A chart, an icon or a photo is no OCR work left undone: no remark on every image.
    assert b.remarks == []
    assert b.notes == []


def test_ocr_off_says_so(gaihi: Image.Image) -> None:
    b = budget(None)
    assert run("image", scans.png(gaihi), b) == []
    assert b.remarks == ["image not read: OCR is off"] and b.notes == []


def test_a_declared_bomb_is_not_handed_to_the_engine() -> None:
    b = budget()
    started = time.monotonic()
    assert run("image", png_declaring(100_000, 100_000), b) == []
    assert time.monotonic() - started < 1.0
    assert b.notes == [("ocr", "image not read: declares 100000x100000 pixels")]


@needs_ocr
def test_truncated_png_and_timeout_are_noted(gaihi: Image.Image) -> None:
    data = scans.png(gaihi)
    b = budget()
    with pytest.raises(ExtractionError, match="truncated png"):
        run("image", data[: len(data) // 2], b)
    assert b.notes == [("ocr", "image: OCR failed (exit 1)")]
    b = budget(OcrOptions(page_timeout=0.05))
    started = time.monotonic()
    assert run("image", data, b) == []
    assert time.monotonic() - started < 2.0
    assert b.notes == [("ocr", "image: OCR timed out after 0.05s")]


# -- PDF ----------------------------------------------------------------------------------
def text_page_pdf() -> bytes:
    return pdf_bytes(b"BT /F1 12 Tf 72 720 Td (Quarterly report of the archive team) Tj ET")


def join_pdfs(*parts: bytes) -> bytes:
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@needs_ocr
def test_image_only_pdf_pages_are_read(gaihi: Image.Image, itar: Image.Image) -> None:
    found = run("pdf", scans.image_pdf([gaihi, itar]), budget())
    assert [m.name for m in found] == ["text", "ocr"]
    text = ocr_text(found)
    assert "該非判定書" in text and "EXPORT CONTROLLED" in text


@needs_ocr
def test_text_pages_are_not_ocr_read(itar: Image.Image) -> None:
    data = join_pdfs(text_page_pdf(), scans.image_pdf([itar]))
    b = budget()
    found = run("pdf", data, b)
    assert [m.name for m in found] == ["text", "ocr"]
    assert "Quarterly report" in found[0].data.decode()
    text = ocr_text(found)
    assert "EXPORT CONTROLLED" in text and "Quarterly" not in text
    assert b.notes == [] and b.remarks == []


@needs_ocr
def test_pdf_pages_past_max_pages_are_noted(itar: Image.Image) -> None:
    b = budget(OcrOptions(max_pages=1))
    found = run("pdf", scans.image_pdf([itar, itar, itar]), b)
    assert "EXPORT CONTROLLED" in ocr_text(found)
    assert b.notes == [("ocr", "pages 2-3 not read (ocr_max_pages is 1)")]


@needs_ocr
def test_pdf_page_that_ocr_cannot_read(itar: Image.Image) -> None:
    # The scan's JPEG stream replaced by bytes no decoder accepts, its length kept.
    good = scans.image_pdf([itar])
    start, end = good.index(b"stream\n") + 7, good.index(b"endstream")
    broken = good[:start] + b"\xff\xd8" + b"Z" * (end - start - 2) + good[end:]
    b = budget()
    assert [m.name for m in run("pdf", broken, b)] == ["text"]
    assert b.remarks == ["page 1: OCR found no text"] and b.notes == []
    # Noise on an A3 sheet costs tesseract ~6 s: past its page's time it is noted, and
    # the pages around it are read.
    a3 = (3508, 4961)
    noise = Image.frombytes("L", a3, random.Random(7).randbytes(a3[0] * a3[1]))
    b = budget(OcrOptions(page_timeout=3.0))
    found = run("pdf", scans.image_pdf([itar, noise, itar]), b)
    assert b.notes == [("ocr", "page 2: OCR timed out after 3s")]
    assert ocr_text(found).count("EXPORT CONTROLLED") == 2


def test_pdf_with_ocr_off_says_which_pages(itar: Image.Image) -> None:
    b = budget(None)
    found = run("pdf", join_pdfs(text_page_pdf(), scans.image_pdf([itar, itar])), b)
    assert [m.name for m in found] == ["text"]
    assert b.remarks == ["image-only pages 2-3 not read: OCR is off"]
