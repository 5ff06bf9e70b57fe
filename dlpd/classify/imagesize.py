"""Image dimensions from headers (PNG IHDR, TIFF IFDs, JPEG SOF) and whether an image
looks like a scanned page. Pure: no I/O of its own, no imaging library.

An image is sized before anything parses its pixels: a decompression bomb (a PNG that
declares 100k x 100k pixels in a few KiB) is never handed to the OCR engine, and a photo
or a plot is not worth seconds of OCR. The caller passes ``read_at(offset, size)``, which
returns at most ``size`` bytes (fewer at the end of the file).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

ReadAt = Callable[[int, int], bytes]

# Above these an image is a bomb, not a page: A4 at 1200 dpi is 139 megapixels... and
# no scanner default; 100 MP is A3 at 850 dpi.
MAX_PIXELS = 100_000_000
MAX_SIDE = 30_000
# A page holds text at >= ~150 dpi: A5 (5.8 in) on its short side, a page 8 in long.
MIN_SHORT_SIDE = 850
MIN_LONG_SIDE = 1_200
# Short side over long side: Legal 0.61, A-series and B5 0.71, fax 0.73-0.77, Letter 0.77.
MIN_PAGE_RATIO = 0.58
MAX_PAGE_RATIO = 0.82

# Bounds of header walks: a hostile file may loop its IFD chain or repeat segments.
_MAX_PNG_CHUNKS = 100_000
_MAX_JPEG_SEGMENTS = 512
_MAX_IFD_ENTRIES = 4_096


@dataclass(frozen=True, slots=True)
class Frame:
    """One image of a file (a TIFF page; PNG and JPEG have one). ``index``: its position
    in the file (a TIFF directory's number, as the OCR engine counts pages)."""

    index: int
    width: int
    height: int
    xdpi: float | None = None
    ydpi: float | None = None
    thumbnail: bool = False


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str  # "png", "tiff", "jpeg"
    frames: tuple[Frame, ...]
    more: bool = False  # a TIFF with more pages than were listed
    complete: bool = True  # False: the file ends before its format's end mark (PNG IEND)


def read_header(read_at: ReadAt, max_frames: int) -> ImageHeader | None:
    """What the header says, or None when it is not a well-formed PNG, TIFF or JPEG
    header. TIFF pages are listed up to ``max_frames``."""
    head = read_at(0, 32)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(read_at)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(read_at, "<" if head[:2] == b"II" else ">", max_frames)
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg(read_at)
    return None


def is_oversized(frame: Frame) -> bool:
    return frame.width * frame.height > MAX_PIXELS or max(frame.width, frame.height) > MAX_SIDE


def not_a_page(frame: Frame) -> str | None:
    """Why ``frame`` is not worth OCR (a phrase for a remark), or None: it looks like a
    scanned page (of a size that holds text at ~150 dpi, of a page's proportions)."""
    width, height = frame.width, frame.height
    if min(width, height) < MIN_SHORT_SIDE or max(width, height) < MIN_LONG_SIDE:
        return "too small for a scanned page"
    # A fax in standard mode has pixels twice as tall as wide: compare inches.
    if frame.xdpi and frame.ydpi and frame.xdpi != frame.ydpi:
        across, down = width / frame.xdpi, height / frame.ydpi
    else:
        across, down = float(width), float(height)
    ratio = min(across, down) / max(across, down)
    if not MIN_PAGE_RATIO <= ratio <= MAX_PAGE_RATIO:
        return "not page-shaped"
    return None


# -- PNG ------------------------------------------------------------------------------
def _png(read_at: ReadAt) -> ImageHeader | None:
    ihdr = read_at(8, 25)
    if len(ihdr) < 25 or ihdr[4:8] != b"IHDR":
        return None
    width, height = struct.unpack(">II", ihdr[8:16])
    if width == 0 or height == 0:
        return None
    xdpi = ydpi = None
    complete = False
    offset = 8
    for _ in range(_MAX_PNG_CHUNKS):
        chunk = read_at(offset, 8)
        if len(chunk) < 8:
            break
        length, kind = struct.unpack(">I4s", chunk)
        if kind == b"pHYs":
            body = read_at(offset + 8, 9)
            if len(body) == 9 and body[8] == 1:  # unit 1: pixels per metre
                x, y = struct.unpack(">II", body[:8])
                xdpi, ydpi = x * 0.0254 or None, y * 0.0254 or None
        if kind == b"IEND":
            complete = True
            break
        offset += 12 + length
    return ImageHeader("png", (Frame(0, width, height, xdpi, ydpi),), complete=complete)


# -- TIFF -----------------------------------------------------------------------------
_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4), 5: ("II", 8)}  # SHORT, LONG, RATIONAL
_WIDTH, _LENGTH, _SUBFILE, _XRES, _YRES, _UNIT = 256, 257, 254, 282, 283, 296


def _tiff(read_at: ReadAt, order: str, max_frames: int) -> ImageHeader | None:
    (offset,) = struct.unpack(order + "I", read_at(4, 4).rjust(4, b"\x00"))
    frames: list[Frame] = []
    seen: set[int] = set()
    index = 0
    while offset and offset not in seen:
        if len(frames) >= max_frames:
            return ImageHeader("tiff", tuple(frames), more=True)
        seen.add(offset)
        parsed = _ifd(read_at, order, offset)
        if parsed is None:
            break
        tags, offset = parsed
        frame = _tiff_frame(tags, index)
        if frame is not None:
            frames.append(frame)
        index += 1
    if not frames:
        return None
    return ImageHeader("tiff", tuple(frames))


def _ifd(read_at: ReadAt, order: str, offset: int) -> tuple[dict[int, float], int] | None:
    """One directory's tags of interest (rationals resolved), and the next's offset."""
    raw = read_at(offset, 2)
    if len(raw) < 2:
        return None
    (count,) = struct.unpack(order + "H", raw)
    if count > _MAX_IFD_ENTRIES:
        return None
    body = read_at(offset + 2, count * 12 + 4)
    if len(body) < count * 12 + 4:
        return None
    tags: dict[int, float] = {}
    for n in range(count):
        tag, kind, _count = struct.unpack(order + "HHI", body[n * 12:n * 12 + 8])
        value_bytes = body[n * 12 + 8:n * 12 + 12]
        if tag not in (_WIDTH, _LENGTH, _SUBFILE, _XRES, _YRES, _UNIT) or kind not in _TIFF_TYPES:
            continue
        fmt, size = _TIFF_TYPES[kind]
        if kind == 5:  # a rational is stored elsewhere
            (where,) = struct.unpack(order + "I", value_bytes)
            pair = read_at(where, 8)
            if len(pair) < 8:
                continue
            num, den = struct.unpack(order + fmt, pair)
            if den:
                tags[tag] = num / den
        else:
            (tags[tag],) = struct.unpack(order + fmt, value_bytes[:size])
    (following,) = struct.unpack(order + "I", body[count * 12:])
    return tags, following


def _tiff_frame(tags: dict[int, float], index: int) -> Frame | None:
    width, height = int(tags.get(_WIDTH, 0)), int(tags.get(_LENGTH, 0))
    if width <= 0 or height <= 0:
        return None
    per_inch = {2: 1.0, 3: 2.54}.get(int(tags.get(_UNIT, 2)))
    xres, yres = tags.get(_XRES), tags.get(_YRES)
    xdpi = xres * per_inch if xres and per_inch else None
    ydpi = yres * per_inch if yres and per_inch else None
    thumbnail = bool(int(tags.get(_SUBFILE, 0)) & 1)  # a reduced-resolution copy
    return Frame(index, width, height, xdpi, ydpi, thumbnail)


# -- JPEG -----------------------------------------------------------------------------
# Start-of-frame markers carry the size; C4 (DHT), C8 (reserved) and CC (DAC) do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


def _jpeg(read_at: ReadAt) -> ImageHeader | None:
    offset = 2
    xdpi = ydpi = None
    for _ in range(_MAX_JPEG_SEGMENTS):
        marker = read_at(offset, 4)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code == 0xFF:  # fill byte
            offset += 1
            continue
        if code in _STANDALONE:
            offset += 2
            continue
        if len(marker) < 4 or code == 0xD9:
            return None
        (length,) = struct.unpack(">H", marker[2:4])
        if code == 0xE0:
            xdpi, ydpi = _jfif_dpi(read_at(offset + 4, 14)) or (xdpi, ydpi)
        if code in _SOF:
            body = read_at(offset + 4, 6)
            if len(body) < 5:
                return None
            height, width = struct.unpack(">HH", body[1:5])
            if width == 0 or height == 0:
                return None
            return ImageHeader("jpeg", (Frame(0, width, height, xdpi, ydpi),))
        offset += 2 + length
    return None


def _jfif_dpi(app0: bytes) -> tuple[float, float] | None:
    if len(app0) < 12 or not app0.startswith(b"JFIF\x00"):
        return None
    unit = app0[7]
    x, y = struct.unpack(">HH", app0[8:12])
    per_inch = {1: 1.0, 2: 2.54}.get(unit)
    if per_inch is None or not x or not y:
        return None
    return x * per_inch, y * per_inch
