"""Is this file text in an encoding YARA cannot match as is, and if so, what does it say?

Called for every file, so the common cases cost one C-level pass: ASCII and UTF-8 return
``None`` (the raw bytes are already matchable), binary is told by control bytes in the
head. What is left is decoded: UTF-16/32 (BOM, or the NUL pattern of BOM-less UTF-16),
ISO-2022-JP, Shift_JIS (as CP932, its Windows superset) or EUC-JP, chosen by decoding a
sample strictly with both and scoring how Japanese each result looks.

Text that is none of these (``Société`` in Latin-1) is decoded as CP1252 (Latin-1 with
Windows' quotes and dashes; the five bytes CP1252 leaves undefined fall back to
Latin-1), so that rules with accented keywords can match; ASCII content matches either
way. Korean and Chinese legacy encodings may decode as EUC-JP/CP932 mojibake: we have no
rules for them, and their ASCII parts still match.
"""

from __future__ import annotations

import codecs
import re

_HEAD = 8192
_SAMPLE = 64 * 1024
# Data this long may be a chunk of a bigger file, cut anywhere; shorter data is a file.
_CHUNKED = 4096
# Bytes that text may contain: printable, whitespace, ESC (ISO-2022-JP), and 0x80-0xFF.
_TEXT_BYTES = bytes([7, 8, 9, 10, 11, 12, 13, 27, *range(0x20, 0x7F), *range(0x80, 0x100)])
# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = {
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
}

_KANA = re.compile(r"[\u3040-\u30ff\u3000-\u303f\uff01-\uff5e]")  # kana, CJK/full-width punct.
_KANJI = re.compile(r"[\u4e00-\u9fff]")
_HALF_KANA = re.compile(r"[\uff61-\uff9f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_PRIVATE = re.compile(r"[\ue000-\uf8ff]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")


def decode_text(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` for text YARA cannot match raw; ``None`` for ASCII, UTF-8, binary."""
    encoding = _detect(data, data[:_HEAD])
    if encoding is None:
        return None
    return _decode(data, encoding), encoding


def is_plain_text(data: bytes) -> bool:
    """ASCII or UTF-8 text, not binary: what ``decode_text`` leaves to raw matching. For
    callers that want the words of a file (content prints), not for every file's scan."""
    head = data[:_HEAD]
    if b"\0" in head or _is_binary(head):
        return False
    return data.isascii() or _is_utf8(data)


def _detect(data: bytes, head: bytes) -> str | None:
    bom = next((encoding for encoding, mark in _BOMS.items() if head.startswith(mark)), None)
    if bom is not None:
        return bom
    if b"\0" in head:
        return _bomless_utf16(head)
    if data.isascii():
        return "iso-2022-jp" if b"\x1b$" in head else None
    if _is_binary(head) or _is_utf8(data):
        return None
    return _japanese(data) or "cp1252"


def _decode(data: bytes, encoding: str) -> str:
    if encoding in _BOMS:
        mark = _BOMS[encoding]
        body = data[len(mark) :] if data.startswith(mark) else data
        unit = 4 if encoding.startswith("utf-32") else 2
        return body[: len(body) - len(body) % unit].decode(encoding, "replace")
    if encoding == "iso-2022-jp":
        return data.decode("iso2022_jp_ext", "replace")
    if encoding == "cp1252":
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:  # one of the five bytes CP1252 leaves undefined
            return data.decode("latin-1")
    return data.decode(encoding, "replace")


def _is_binary(head: bytes) -> bool:
    """More than 1% control bytes (other than whitespace and ESC) in the head."""
    return len(head.translate(None, _TEXT_BYTES)) * 100 > len(head)


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII characters put NUL in every other byte, and only there.

    Arrays of small 16-bit integers look the same, so the head must also decode to
    printable text.
    """
    even, odd = head[0::2], head[1::2]
    if len(odd) < 8:
        return None
    for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) * 10 >= len(zeros) and other.count(0) * 50 <= len(other):
            sample = head[: len(head) & ~1].decode(encoding, "replace")
            if len(_CONTROL.findall(sample)) * 100 <= len(sample):
                return encoding
    return None


def _is_utf8(data: bytes) -> bool:
    """Valid UTF-8, allowing a character cut at either end: big files are read, and
    matched, in chunks, and a chunk may start or end inside a character."""
    start = 0
    while len(data) >= _CHUNKED and start < 3 and 0x80 <= data[start] <= 0xBF:
        start += 1
    try:
        codecs.utf_8_decode(memoryview(data)[start:], "strict", True)
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - start - 3 and exc.reason == "unexpected end of data"
    return True


def _japanese(data: bytes) -> str | None:
    """``"cp932"`` or ``"euc-jp"`` if a sample decodes strictly and reads as Japanese.

    The sample is tried from its first and its second byte: a chunk of a big file may
    start on the second byte of a character.
    """
    best, best_score = None, 0.0
    for encoding in ("cp932", "euc-jp"):
        for start in (0, 1):
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                text = decoder.decode(data[start : start + _SAMPLE], final=False)
            except UnicodeDecodeError:
                continue
            # On a tie (short samples read well both ways) the reading that starts on the
            # first byte and leaves no character unfinished is the likelier one.
            score = _score(text) - 0.01 * start - (0.01 if decoder.getstate()[0] else 0.0)
            if score > best_score:
                best, best_score = encoding, score
    return best


def _score(text: str) -> float:
    """Share of non-ASCII characters that are kana or kanji, less half-width katakana and
    private-use characters (what the wrong one of CP932/EUC-JP makes of the other)."""
    non_ascii = len(_NON_ASCII.findall(text))
    if not non_ascii:
        return 0.0
    japanese = len(_KANA.findall(text)) + len(_KANJI.findall(text))
    odd = 2 * len(_HALF_KANA.findall(text)) + 4 * len(_PRIVATE.findall(text))
    share = (japanese - odd) / non_ascii
    return share if share >= 0.6 else 0.0
