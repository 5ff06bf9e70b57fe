"""Scanned documents drawn for the OCR tests: pages at 300 dpi with the IPA Gothic font,
saved as the files scanners and fax software write (PNG, JPEG, TIFF in group 4, image-only
PDF). Pillow draws them; nothing of dlpd is used here."""

from __future__ import annotations

import glob
import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

DPI = 300
A4 = (2480, 3508)  # 210 x 297 mm at 300 dpi
LETTER = (2550, 3300)

# Debian's fonts-ipafont-gothic (also reached through fonts-japanese-gothic.ttf).
_FONTS = sorted(glob.glob("/usr/share/fonts/**/ipag.ttf", recursive=True))
FONT = _FONTS[0] if _FONTS else None

# The pages of the corpus: what a security officer would expect found in each.
GAIHI = ["該非判定書", "本書は輸出貿易管理令別表第一に基づく該非判定の結果である。",
         "判定: 該当 (3項)", "判定者: 輸出管理部"]
ITAR = ["EXPORT CONTROLLED - ITAR",
        "This document contains technical data whose export is",
        "restricted by the International Traffic in Arms Regulations",
        "(ITAR, 22 CFR 120-130)."]
NDA = ["秘密保持契約書", "本資料は秘密保持契約に基づき開示されるものであり、",
       "第三者への開示を禁ずる。", "甲: 株式会社サンプル   乙: 研究所"]
SSN = ["Employee record", "Name: Jane Q. Public", "SSN: 212-48-3197",
       "Start date: 2021-04-01"]
# Look-alike: a page of prose with no marking and no number.
PLAIN = ["Minutes of the seminar", "The group met on Tuesday to discuss",
         "the reading list for the autumn term."]


def page(lines: Sequence[str], *, size: tuple[int, int] = A4, stamp: str | None = None,
         signed: bool = False, mode: str = "L") -> Image.Image:
    """A white page with ``lines`` in 20 pt type; ``stamp``: a boxed word at the top
    right (社外秘); ``signed``: a signature scrawl above the last line."""
    assert FONT is not None, "fonts-ipafont-gothic is not installed"
    image = Image.new(mode, size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 64)
    y = 300
    for line in lines:
        draw.text((250, y), line, font=font, fill="black")
        y += 130
    if stamp is not None:
        stamp_font = ImageFont.truetype(FONT, 110)
        x0, y0 = size[0] - 250 - 130 * len(stamp) - 80, 120
        draw.rectangle((x0, y0, x0 + 130 * len(stamp) + 80, y0 + 180), outline="black",
                       width=10)
        draw.text((x0 + 40, y0 + 30), stamp, font=stamp_font, fill="black")
    if signed:
        points = [(300 + 40 * i, y + 200 + (40 if i % 2 else -40)) for i in range(20)]
        draw.line(points, fill="black", width=8)
    return image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("L").save(out, "JPEG", quality=85, dpi=(DPI, DPI))
    return out.getvalue()


def tiff(images: Sequence[Image.Image], *, fax: bool = False) -> bytes:
    """Multi-page TIFF; ``fax``: bilevel in CCITT group 4, as fax servers store them."""
    # Copies: Pillow keeps a save's options on the images it saved (the pages of a
    # multi-page save), and a later save of the same image would reuse them.
    pages = [im.convert("1") if fax else im.copy() for im in images]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=list(pages[1:]),
                  compression="group4" if fax else "tiff_lzw", dpi=(DPI, DPI))
    return out.getvalue()


def image_pdf(images: Sequence[Image.Image]) -> bytes:
    """An image-only PDF, one scan a page, as a scanner's "scan to PDF" writes it."""
    pages = [im.copy() for im in images]  # see tiff()
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return out.getvalue()
