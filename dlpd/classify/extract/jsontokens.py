"""A bounded JSON tokenizer: the events of a JSON document of any size, read in chunks.

``json.load`` holds a whole document and everything in it as Python objects (a 50 MB
notebook is some 500 MB of them). This reads ``CHUNK`` bytes at a time and hands over
events: containers opening and closing, object keys (their first ``MAX_KEY`` bytes),
string literals as raw bodies (a literal longer than ``PIECE`` in pieces, cut where no
escape or character is split), and scalars. Memory: a chunk, a piece, and one boolean a
nesting level, the nesting bounded. Bytes are matched by compiled regexes; Python runs
once a token, not once a byte.

Malformed input raises ``Malformed`` with a reason of our own and the file offset where
the unread rest begins, after the events of everything before it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import BinaryIO

from dlpd.classify.extract.jsonstrings import BODY, CHUNK, MAX_KEY, PIECE, safe_cut
from dlpd.classify.limits import Budget

# Event kinds; an event is ``(kind, raw, flags)``. STRINGS: a run of whole string items of
# an array, each followed by its comma (``"a\\n", "b\\n", ``): the lines of a notebook's
# source or output, handed over at once so that Python does not run once a line.
# SCALARS: the same for numbers (a plot's data: ``0.1, 0.2, ``).
OBJECT, ARRAY, CLOSE, KEY, STRING, SCALAR, STRINGS, SCALARS = range(8)
# Flags of a STRING event: the literal's first piece, its last piece (both: a whole one).
FIRST, LAST = 1, 2
MAX_DEPTH = 128
# A number longer than this is no number a writer makes.
_MAX_SCALAR = 1024

_SEPARATORS = re.compile(rb"[ \t\r\n,:]*+")
_STRING_RUN = re.compile(rb'(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[ \t\r\n]*+,[ \t\r\n]*+)++', re.S)
_SCALAR = re.compile(rb"-?[0-9][0-9.eE+-]*+|true|false|null|NaN|-?Infinity")
_SCALAR_RUN = re.compile(
    rb"(?:(?:-?[0-9][0-9.eE+-]{0,1000}+|true|false|null|NaN|-?Infinity)[ \t\r\n]*+,[ \t\r\n]*+)++")
_OPEN_OBJECT, _OPEN_ARRAY, _CLOSE_OBJECT, _CLOSE_ARRAY, _QUOTE = b"{[}]\""


class Malformed(Exception):
    """The document is not JSON from ``offset`` on; ``reason`` quotes no byte of it."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


Event = tuple[int, bytes, int]
# What a step returns when it made progress without an event (read more, opened a literal).
_NONE: Event = (-1, b"", 0)


class JsonTokens:
    """Events of the one JSON value in ``stream`` (whitespace around it allowed)."""

    def __init__(self, stream: BinaryIO, budget: Budget, max_depth: int = MAX_DEPTH) -> None:
        self._stream = stream
        self._budget = budget
        self._max_depth = max_depth
        self._buf = b""
        self._pos = 0
        self._base = 0  # file offset of _buf[0]
        self._eof = False
        # Bytes still to read: a file is read to max_scan_bytes, as its raw bytes are.
        self._left = budget.stream_cap()
        self.cut = False  # the stream had more than that
        self._stack: list[bool] = []  # a level each: True for an object
        self._expect_key = False
        self._started = False
        self._literal = -1  # KEY or STRING while a literal is being read
        self._flags = FIRST
        self._key = b""
        # File offset of the open literal's quote, or of its first byte not handed over.
        self._literal_at = 0

    def __iter__(self) -> Iterator[Event]:
        while True:
            event = self._literal_step() if self._literal >= 0 else self._token_step()
            if event is None:
                return
            if event is not _NONE:
                yield event

    def _fill(self) -> Event:
        chunk = self._stream.read(min(CHUNK, self._left)) if self._left > 0 else b""
        self._budget.check_time()
        if not chunk:
            self._eof = True
            self.cut = self._left <= 0 and bool(self._stream.read(1))
        else:
            self._left -= len(chunk)
            self._base += self._pos
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
            if self._base == 0 and self._buf.startswith(codecs.BOM_UTF8):
                self._pos = len(codecs.BOM_UTF8)  # as a Windows editor saves it
        return _NONE

    def _malformed(self, reason: str) -> Malformed:
        return Malformed(reason, self._base + self._pos)

    def _after_value(self) -> None:
        self._expect_key = bool(self._stack) and self._stack[-1]

    def _literal_step(self) -> Event:
        """Read on in the open literal: its end, a piece of it, or more bytes."""
        buf, pos = self._buf, self._pos
        end = BODY.match(buf, pos).end()  # type: ignore[union-attr]
        if end < len(buf) and buf[end] == _QUOTE:
            self._pos = end + 1
            literal, self._literal = self._literal, -1
            if literal == KEY:
                self._expect_key = False
                return KEY, (self._key + buf[pos:end])[:MAX_KEY], 0
            self._after_value()
            return STRING, buf[pos:end], self._flags | LAST
        if end - pos >= PIECE:
            cut = self._pos = safe_cut(buf, pos, end)
            if self._literal == KEY:
                self._key = (self._key + buf[pos:cut])[:MAX_KEY]
                return _NONE
            flags, self._flags = self._flags, 0
            self._literal_at = self._base + cut
            return STRING, buf[pos:cut], flags
        if self._eof:  # the rest is read again from the literal's start (or what is left)
            raise Malformed("truncated in a string", self._literal_at)
        return self._fill()

    def _token_step(self) -> Event | None:
        """The next token's event; None at the end of the document."""
        buf = self._buf
        pos = self._pos = _SEPARATORS.match(buf, self._pos).end()  # type: ignore[union-attr]
        if pos >= len(buf):
            if not self._eof:
                return self._fill()
            if self._stack or not self._started:
                raise self._malformed("truncated")
            return None
        char = buf[pos]
        if self._started and not self._stack:
            raise self._malformed("data after the end")
        if self._expect_key and char not in (_QUOTE, _CLOSE_OBJECT):
            raise self._malformed("an object key that is not a string")
        if char == _QUOTE:
            return self._string_start(buf, pos)
        if char in (_OPEN_OBJECT, _OPEN_ARRAY):
            return self._open(char == _OPEN_OBJECT)
        if char in (_CLOSE_OBJECT, _CLOSE_ARRAY):
            return self._close(char == _CLOSE_OBJECT)
        return self._scalar()

    def _string_start(self, buf: bytes, pos: int) -> Event:
        if self._stack and not self._stack[-1]:  # in an array: its run of whole items
            run = _STRING_RUN.match(buf, pos)
            if run is not None:
                self._pos = run.end()
                return STRINGS, run.group(), 0
        self._started = True
        self._literal = KEY if self._expect_key else STRING
        self._flags, self._key = FIRST, b""
        self._literal_at = self._base + pos
        self._pos = pos + 1
        return _NONE

    def _open(self, is_object: bool) -> Event:
        if len(self._stack) >= self._max_depth:
            raise self._malformed(f"nested deeper than {self._max_depth}")
        self._started = True
        self._stack.append(is_object)
        self._expect_key = is_object
        self._pos += 1
        return (OBJECT if is_object else ARRAY), b"", 0

    def _close(self, is_object: bool) -> Event:
        if not self._stack or self._stack[-1] != is_object:
            raise self._malformed("an unbalanced bracket")
        self._stack.pop()
        self._after_value()
        self._pos += 1
        return CLOSE, b"", 0

    def _scalar(self) -> Event:
        pos = self._pos
        if self._stack and not self._stack[-1]:  # in an array: its run of scalars
            run = _SCALAR_RUN.match(self._buf, pos)
            if run is not None:
                self._pos = run.end()
                return SCALARS, run.group(), 0
        match = _SCALAR.match(self._buf, pos)
        if match is None:
            raise self._malformed("not JSON")
        if match.end() - pos > _MAX_SCALAR:
            raise self._malformed("a scalar too long")
        if match.end() >= len(self._buf) and not self._eof:
            return self._fill()  # the number may go on in the next chunk
        self._started = True
        self._pos = match.end()
        self._after_value()
        return SCALAR, match.group(), 0
