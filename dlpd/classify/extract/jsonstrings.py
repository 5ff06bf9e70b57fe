"""JSON string literals as the scanner reads them: decoded leniently, in bounded pieces.

A JSON writer hides text behind escapes (``"\\n"`` between the lines of a PEM key,
``"\\u0041KIA"``), so the raw bytes of a JSON file do not show it. This module turns
literal bodies (the bytes between the quotes) into text without ever raising on hostile
input: invalid escapes are kept as written, lone surrogates become U+FFFD, bytes that are
not UTF-8 are decoded as the text sniffer guesses. ``escaped_strings`` finds, in a JSON
(or JSON Lines) stream of any size, the literals that hold an escape, at C speed: a file
without a backslash costs one ``bytes.find``.
"""

from __future__ import annotations

import io
import json
import re
from _json import scanstring  # the C decoder json.loads uses
from collections.abc import Iterator
from typing import BinaryIO

from dlpd.classify.extract.text import decode_text
from dlpd.classify.limits import Budget, MiB

CHUNK = 1 * MiB
# A literal longer than this is handed over in pieces: never held whole.
PIECE = 1 * MiB
# Object keys are names: what is read of one is this long at most.
MAX_KEY = 256
# A literal body: runs of plain bytes and escapes, up to its closing quote (possessive:
# the engine never backtracks into a 50 MB string).
BODY = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+', re.S)
# Everything up to the next literal that holds an escape (or runs past the buffer):
# bytes outside literals, and whole literals without a backslash.
_PLAIN_RUN = re.compile(rb'(?:[^"]++|"[^"\\]*+")*+')
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))", re.S)
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
           "t": "\t"}
_LIST = json.JSONDecoder(strict=False)  # control characters in strings: as Jupyter reads
_ITEM = re.compile(rb'"([^"\\]*+(?:\\.[^"\\]*+)*+)"', re.S)
_HIGH_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}")


def unescape(body: str) -> str:
    """The text of a literal body: the C decoder for valid escapes, else one by one."""
    try:
        return scanstring(body + '"', 0, False)[0]
    except ValueError:  # an invalid escape: keep it as written, decode the others
        return _lenient(body)


def _lenient(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        hexa, char = match.group(1), match.group(2)
        if hexa is not None:
            return chr(int(hexa, 16))
        return _SIMPLE.get(char, "\\" + char)

    text = _ESCAPE.sub(one, body)
    # Pairs of \uD8xx\uDCxx escapes become their character, a lone half U+FFFD.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class StringDecoder:
    """Literal bodies to text; says once (a remark) when a file's strings are not UTF-8."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    def text(self, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = self._foreign(raw)
        return unescape(text) if "\\" in text else text

    def items(self, run: bytes) -> list[str]:
        """The strings of a run of array items, ``"a", "b", `` (each with its comma)."""
        try:  # the C decoder, when every item is valid JSON in UTF-8
            items = _LIST.decode("[" + run.decode("utf-8").rstrip()[:-1] + "]")
        except ValueError:  # UnicodeDecodeError included: one by one, leniently
            return [self.text(item.group(1)) for item in _ITEM.finditer(run)]
        return items if isinstance(items, list) else []

    def plain(self, raw: bytes) -> str:
        """Bytes that are not a literal body (a file's rest) as text; a character cut at
        the end is dropped."""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data":
                return raw[: exc.start].decode("utf-8")
            return self._foreign(raw)

    def _foreign(self, raw: bytes) -> str:
        guessed = decode_text(raw)
        if guessed is None:  # binary-looking bytes: keep what is readable
            self._budget.remark("JSON strings not in UTF-8 (bytes replaced)")
            return raw.decode("utf-8", "replace")
        self._budget.remark(f"JSON strings not in UTF-8 (read as {guessed[1]})")
        return guessed[0]


def safe_cut(buf: bytes, start: int, end: int) -> int:
    """A cut at or before ``end`` in the literal body ``buf[start:end]`` (``start`` is
    not inside an escape) that splits no escape, no surrogate pair of escapes and no
    UTF-8 character, so that each piece decodes on its own."""
    cut = end
    last = buf.rfind(b"\\", max(start, end - 12), end)
    if last >= 0:
        run = last
        while run > start and buf[run - 1] == 0x5C:
            run -= 1
        if (last - run) % 2 == 0:  # an odd run of backslashes: ``last`` opens an escape
            size = 6 if buf[last + 1 : last + 2] == b"u" else 2
            pair_half = size == 6 and _HIGH_SURROGATE.match(buf, last) is not None
            if last + size > end or (pair_half and last + size == end):
                cut = last
            if cut == last and last - 6 >= start and _HIGH_SURROGATE.match(buf, last - 6):
                cut = last - 6  # the low half would be cut from its high half
    while start < cut < len(buf) and (buf[cut] & 0xC0) == 0x80:  # a UTF-8 continuation byte
        cut -= 1
    return cut if cut > start else end


def key_before(buf: bytes, at: int, decoder: StringDecoder) -> str | None:
    """The object key of the value whose literal opens at ``buf[at]``, if it is one."""
    window = buf[max(0, at - MAX_KEY - 64) : at].rstrip()
    if not window.endswith(b":"):
        return None
    window = window[:-1].rstrip()
    if not window.endswith(b'"'):
        return None
    close = len(window) - 1
    open_ = window.rfind(b'"', 0, close)
    while open_ > 0 and _escaped(window, open_):
        open_ = window.rfind(b'"', 0, open_)
    if open_ < 0:
        return None
    return decoder.text(window[open_ + 1 : close])[:MAX_KEY]


def _line(text: str) -> str:
    """A literal's text ends its line (a line of source in a list already does)."""
    return text if text.endswith("\n") else text + "\n"


def _escaped(buf: bytes, at: int) -> bool:
    run = at
    while run > 0 and buf[run - 1] == 0x5C:
        run -= 1
    return (at - run) % 2 == 1


def escaped_strings(stream: BinaryIO, budget: Budget) -> Iterator[str]:
    """Fragments of text, ``key: decoded`` lines, for the literals of the JSON text in
    ``stream`` that hold an escape (a literal without one adds nothing: its raw bytes
    say all). Fragments join into lines: a literal read in pieces gives one fragment a
    piece, the last ending in a newline. Memory: one chunk and one piece."""
    if isinstance(stream, io.BytesIO) and b"\\" not in stream.getvalue():
        return
    decoder = StringDecoder(budget)
    buf = b""
    pos = 0
    inside = False  # a literal is open at ``pos``
    emitting = False  # and part of it was handed over
    prefix = ""
    left = budget.stream_cap()  # read to max_scan_bytes, as the raw bytes are
    while True:
        chunk = stream.read(min(CHUNK, left))
        left -= len(chunk)
        budget.check_time()
        if not chunk:
            if inside and pos < len(buf):  # the file ends inside a literal
                raw = buf[pos:]
                if emitting or b"\\" in raw:
                    yield _line((prefix if not emitting else "") + decoder.text(raw))
            return
        keep = max(0, pos - MAX_KEY - 64)  # the bytes before a literal hold its key
        buf = buf[keep:] + chunk
        pos -= keep
        while True:
            if not inside:
                pos = _PLAIN_RUN.match(buf, pos).end()  # type: ignore[union-attr]
                if pos >= len(buf):
                    break
                key = key_before(buf, pos, decoder)
                prefix = f"{key}: " if key else ""
                inside, emitting = True, False
                pos += 1
            end = BODY.match(buf, pos).end()  # type: ignore[union-attr]
            if end < len(buf) and buf[end] == 0x22:  # closed
                raw = buf[pos:end]
                if emitting or b"\\" in raw:
                    yield _line((prefix if not emitting else "") + decoder.text(raw))
                inside = False
                pos = end + 1
                continue
            if end - pos < PIECE:
                break  # the rest of this literal comes with the next chunk
            cut = safe_cut(buf, pos, end)
            raw = buf[pos:cut]
            if emitting or b"\\" in raw:
                yield (prefix if not emitting else "") + decoder.text(raw)
                emitting = True
            pos = cut
