"""Opening zip files safely and reading their members within the budget.

Shared by the raw zip extractor and the document formats built on zip (OOXML, ODF).
``zipfile`` on Python < 3.11.8 does not refuse overlapping entries (CVE-2024-0450): many
central-directory entries pointing into the same compressed data make a small file expand
to terabytes while every entry looks honest. ``open_zip`` refuses them before any read.

``zipfile`` reads the central directory; members are decompressed here (``MemberReader``),
not by ``ZipExtFile``: it decompresses a bzip2 or LZMA read whole (915 bytes of bzip2 are
a GiB of zeros), and it cannot say how much compressed input a read consumed, so a ratio
check could only compare with the member's whole compressed size, and tripped once
hundreds of MiB were in memory.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import Problems
from dlpd.classify.extract.reading import CHUNK, Read, read_bounded, yield_member
from dlpd.classify.extract.streams import (
    XZ_MEMLIMIT,
    DecompressingReader,
    Decompressor,
    GzipDecompressor,
)
from dlpd.classify.limits import Budget
from dlpd.errors import ExtractionError, LimitExceeded

SUPPORTED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... name length, extra length
_LOCAL_MAGIC = b"PK\x03\x04"
# What zipfile raises for a central directory it cannot use (a newer "version needed",
# bad offsets, a cut-off file).
OPEN_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
)
READ_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def open_zip(stream: BinaryIO) -> zipfile.ZipFile:
    """The zip in ``stream``, its central directory checked for overlapping entries."""
    try:
        archive = zipfile.ZipFile(stream)
    except OPEN_ERRORS as exc:
        raise ExtractionError("not a zip archive, or truncated (no central directory)") from exc
    try:
        check_overlap(archive, stream)
    except BaseException:
        archive.close()
        raise
    return archive


def check_overlap(archive: zipfile.ZipFile, stream: BinaryIO) -> None:
    """``LimitExceeded("zip_overlap")`` if two entries' local data ranges overlap.

    Each entry spans its local header, name, extra field and compressed data; sorted by
    offset, each must end before the next begins, the last before the central directory.
    """
    entries = sorted(archive.infolist(), key=lambda info: info.header_offset)
    end = 0
    for info in entries:
        if info.header_offset < end:
            raise LimitExceeded("zip_overlap", "zip entries overlap (possible zip bomb)")
        end = info.header_offset + _local_header_size(info, stream) + info.compress_size
    if entries and end > archive.start_dir:
        raise LimitExceeded("zip_overlap", "zip entry overlaps the central directory")


def _local_header_size(info: zipfile.ZipInfo, stream: BinaryIO) -> int:
    stream.seek(info.header_offset)
    raw = stream.read(_LOCAL_HEADER.size)
    if len(raw) == _LOCAL_HEADER.size:
        magic, name_len, extra_len = _LOCAL_HEADER.unpack(raw)
        if magic == _LOCAL_MAGIC:
            return int(_LOCAL_HEADER.size + name_len + extra_len)
    # A bad local header fails when the member is opened; count the smallest one here.
    return _LOCAL_HEADER.size + len(info.orig_filename.encode("utf-8", "surrogateescape"))


def unreadable_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member cannot be read at all, known from the central directory alone."""
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.compress_type not in SUPPORTED_METHODS:
        return f"unsupported compression method {info.compress_type}"
    return None


def describe(exc: Exception) -> str:
    """A short reason for a member read failure (never the library's message, which
    may quote names or content)."""
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return "bad CRC"
    if isinstance(exc, EOFError):
        return "truncated"
    return "corrupt"


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> Read:
    """A member's bytes up to the member cap; the declared ratio is checked first.

    A member with a bad CRC keeps its data (unzip tools extract such members with a
    warning: its content must be scanned too) and says ``bad CRC``.
    """
    budget.check_ratio(info.file_size, info.compress_size)
    try:
        reader = MemberReader(archive, info, budget)
    except READ_ERRORS as exc:
        return Read(b"", cut=False, error=describe(exc))
    got = read_bounded(reader.read, budget, charge=False, errors=READ_ERRORS,
                       describe=describe)
    if got.error is None and reader.problem is not None:
        return Read(got.data, cut=got.cut, error=reader.problem)
    return got


class _Slice:
    """``read(n)`` over ``size`` bytes of ``stream`` from ``offset``. It seeks before each
    read: the stream is shared with ``zipfile`` and the readers of other members."""

    def __init__(self, stream: IO[bytes], offset: int, size: int) -> None:
        self._stream = stream
        self._pos = offset
        self._left = size
        self.short = False  # the file ended before the member's compressed data did

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        if size <= 0:
            return b""
        self._stream.seek(self._pos)
        data = self._stream.read(size)
        if not data:
            self.short, self._left = True, 0
        self._pos += len(data)
        self._left -= len(data)
        return data


# Compression method → the stream kind whose errors mean corrupt data.
_KINDS = {zipfile.ZIP_DEFLATED: "gzip", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "xz"}


class MemberReader:
    """``read(n)`` over one member's decompressed bytes, charged to the budget.

    Never more than ``n`` bytes a call; the ratio is checked on the compressed bytes
    consumed so far (``DecompressingReader``), once past ``ratio_floor``. When the end is
    reached, ``problem`` says ``truncated``, ``corrupt`` or ``bad CRC`` (data kept).
    """

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> None:
        stream = archive.fp
        if stream is None:
            raise ValueError("zip archive closed")
        self._budget = budget
        self._raw = _Slice(stream, _data_offset(info, stream), info.compress_size)
        self._expected_crc = info.CRC
        self._crc = 0
        self._done = False
        self.problem: str | None = None
        self._stream: DecompressingReader | None = None
        if info.compress_type != zipfile.ZIP_STORED:
            kind = _KINDS[info.compress_type]
            self._stream = DecompressingReader(
                self._raw, budget, kind, _decompressor(info.compress_type, self._raw)
            )

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size < 0 else size
        if self._done:
            return b""
        if self._stream is None:
            data = self._raw.read(size)
            self._budget.charge_bytes(len(data))
        else:
            data = self._stream.read(size)
        if data:
            self._crc = zlib.crc32(data, self._crc)
        else:
            self._finish()
        return data

    def _finish(self) -> None:
        self._done = True
        stream_problem = self._stream.problem if self._stream is not None else None
        if stream_problem is not None:
            self.problem = "truncated" if stream_problem.startswith("truncated") else "corrupt"
        elif self._raw.short:
            self.problem = "truncated"
        elif self._crc != self._expected_crc:
            self.problem = "bad CRC"


def _data_offset(info: zipfile.ZipInfo, stream: IO[bytes]) -> int:
    stream.seek(info.header_offset)
    raw = stream.read(_LOCAL_HEADER.size)
    if len(raw) < _LOCAL_HEADER.size:
        raise EOFError
    magic, name_len, extra_len = _LOCAL_HEADER.unpack(raw)
    if magic != _LOCAL_MAGIC:
        raise zipfile.BadZipFile
    return int(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)


def _decompressor(method: int, raw: _Slice) -> Decompressor:
    if method == zipfile.ZIP_DEFLATED:
        return GzipDecompressor(wbits=-15)
    if method == zipfile.ZIP_BZIP2:
        return bz2.BZ2Decompressor()
    # LZMA in zip: version (2 bytes), size of the properties (2), the properties, then
    # a raw LZMA1 stream (what zipfile.LZMADecompressor does, with bounded output).
    head = raw.read(4)
    if len(head) < 4:
        raise EOFError
    props = raw.read(struct.unpack("<2xH", head)[0])
    if len(props) != 5:
        raise zipfile.BadZipFile
    # The dictionary is allocated up front: refuse what xz would refuse too.
    if struct.unpack_from("<I", props, 1)[0] > XZ_MEMLIMIT:
        raise NotImplementedError
    lzma1 = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)  # type: ignore[attr-defined]
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])


def raw_members(
    archive: zipfile.ZipFile,
    infos: Iterable[zipfile.ZipInfo],
    budget: Budget,
    problems: Problems,
) -> Iterator[Member]:
    """Members' raw bytes, directories skipped; unreadable ones go to ``problems``
    (a member that failed part-way is still yielded, as far as it was read)."""
    for info in infos:
        if info.is_dir():
            continue
        budget.charge_member()
        reason = unreadable_reason(info)
        if reason is not None:
            problems.add(info.filename, reason)
            continue
        got = read_member(archive, info, budget)
        if got.error is not None:
            problems.add(info.filename, got.error)
            if not got.data:
                continue
        yield from yield_member(info.filename, got, budget)
        del got  # the next member is read within the memory this one held


class PartReader:
    """Chunks of one member for a streaming parser; read errors end the chunks early
    and are kept in ``problem`` (the parser then sees an unfinished document)."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> None:
        self._archive = archive
        self._info = info
        self._budget = budget
        self.cut = False
        self.problem: str | None = unreadable_reason(info)

    def chunks(self) -> Iterator[bytes]:
        if self.problem is not None:
            return
        info, budget = self._info, self._budget
        budget.check_ratio(info.file_size, info.compress_size)
        cap = budget.stream_cap()
        got = 0
        try:
            reader = MemberReader(self._archive, info, budget)
            while got < cap:
                chunk = reader.read(min(CHUNK, cap - got))
                if not chunk:
                    self.problem = reader.problem
                    return
                got += len(chunk)
                budget.check_time()  # a big sheet parses for seconds
                yield chunk
            self.cut = bool(reader.read(1))
        except READ_ERRORS as exc:
            self.problem = describe(exc)
