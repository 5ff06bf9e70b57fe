"""Single-stream compressors (gzip, bzip2, xz): bounded, charged, multi-member.

``DecompressingReader`` is a file-like ``read(n)`` over a compressed stream that never
produces more than asked, charges every produced byte to the budget and checks the ratio
of produced to consumed bytes as it goes. It decompresses concatenated members (BGZF from
BAM and ``vcf.gz`` is thousands of gzip members; ``pbzip2`` and ``xz -T`` write several
streams) and, like the standard library's readers, ignores trailing garbage after a
complete member and zero padding between members. A stream that ends inside a member, or
corrupt data, ends the output and is named in ``problem``.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import BinaryIO, Protocol

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.reading import CHUNK, read_bounded, yield_member
from dlpd.classify.limits import Budget, MiB
from dlpd.errors import ExtractionError

# Compressed input is read in small pieces so that the ratio check (produced/consumed)
# sees the bytes actually consumed, not a big read-ahead.
INPUT_CHUNK = 64 * 1024
# An xz/lzma header can ask the decoder for a 1.5 GiB dictionary; ``xz -9`` needs 65 MiB.
XZ_MEMLIMIT = 256 * MiB


class Readable(Protocol):
    """What ``DecompressingReader`` reads compressed input from."""

    def read(self, size: int = -1, /) -> bytes: ...


class Decompressor(Protocol):
    """The interface of ``bz2.BZ2Decompressor`` and ``lzma.LZMADecompressor``."""

    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    @property
    def needs_input(self) -> bool: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class GzipDecompressor:
    """``zlib.decompressobj`` (gzip framing, or raw deflate with ``wbits=-15``) behind the
    bz2/lzma decompressor interface."""

    def __init__(self, wbits: int = 31) -> None:
        self._zlib = zlib.decompressobj(wbits=wbits)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def unused_data(self) -> bytes:
        return self._zlib.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._tail

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        out = self._zlib.decompress(self._tail + data if self._tail else data, max(max_length, 0))
        self._tail = self._zlib.unconsumed_tail
        return out


def _xz() -> Decompressor:
    return lzma.LZMADecompressor(format=lzma.FORMAT_AUTO, memlimit=XZ_MEMLIMIT)


# kind → (new decompressor, errors meaning corrupt data, zero padding allowed between members)
FORMATS: dict[str, tuple[Callable[[], Decompressor], tuple[type[Exception], ...], bool]] = {
    "gzip": (GzipDecompressor, (zlib.error,), True),
    "bzip2": (bz2.BZ2Decompressor, (OSError, ValueError), False),
    "xz": (_xz, (lzma.LZMAError,), True),
}


class DecompressingReader:
    """``read(n)`` over the decompressed bytes of ``stream``, charged to ``budget``."""

    def __init__(
        self,
        stream: Readable,
        budget: Budget,
        kind: str,
        decompressor: Decompressor | None = None,
    ) -> None:
        """``decompressor``: a single-member stream (a zip member) decoded by it, with the
        errors of ``kind``; what follows its end is not read."""
        self._new, self._errors, self._zero_padding = FORMATS[kind]
        self._single = decompressor is not None
        self._kind = kind
        self._stream = stream
        self._budget = budget
        self._decompressor = decompressor or self._new()
        self._pending = b""
        self._follow_on = False  # the current decompressor is past the first member
        self._member_produced = False
        self._done = False
        self.consumed = 0
        self.produced = 0
        self.problem: str | None = None

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size < 0 else size
        while not self._done and size > 0:
            if self._decompressor.eof and (self._single or not self._next_member()):
                self._done = True
                break
            data = b""
            if self._decompressor.needs_input:
                data = self._input()
                if not data:
                    self._stop(f"truncated {self._kind} stream")
                    break
            try:
                out = self._decompressor.decompress(data, size)
            except self._errors:
                # Garbage after a complete member is ignored, as gzip/bz2/lzma do.
                garbage = self._follow_on and not self._member_produced
                self._stop(None if garbage else f"corrupt {self._kind} stream")
                break
            if out:
                self._member_produced = True
                self.produced += len(out)
                self._budget.charge_bytes(len(out))
                self._budget.check_ratio(self.produced, self.consumed)
                return out
            if not data and not self._decompressor.eof:
                # Neither input taken nor output made: never spin on a decompressor
                # that claims to have more.
                self._stop(f"corrupt {self._kind} stream")
        return b""

    def _stop(self, problem: str | None) -> None:
        self._done = True
        self.problem = problem

    def _input(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        data = self._stream.read(INPUT_CHUNK)
        self.consumed += len(data)
        return data

    def _next_member(self) -> bool:
        """Start a decompressor on what follows a finished member; False at the end."""
        rest = self._decompressor.unused_data + self._pending
        while True:
            if self._zero_padding:
                rest = rest.lstrip(b"\0")
            if rest:
                break
            rest = self._stream.read(INPUT_CHUNK)
            self.consumed += len(rest)
            if not rest:
                return False
        self._pending = rest
        self._decompressor = self._new()
        self._follow_on = True
        self._member_produced = False
        return True


def decompress_stream(kind: str, stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    """One member named ``""``: the decompressed stream, up to the member cap."""
    budget.charge_member()
    reader = DecompressingReader(stream, budget, kind)
    got = read_bounded(reader.read, budget, charge=False)
    if not got.data and reader.problem is not None:
        raise ExtractionError(reader.problem)
    # A stream that broke after some data is that data, truncated, then the error.
    yield from yield_member("", replace(got, error=got.error or reader.problem), budget)
    if reader.problem is not None:
        raise ExtractionError(reader.problem)


def extract_gzip(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    return decompress_stream("gzip", stream, budget)


def extract_bzip2(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    return decompress_stream("bzip2", stream, budget)


def extract_xz(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    return decompress_stream("xz", stream, budget)
