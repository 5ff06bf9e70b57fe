"""Opening zip files safely and reading their members within the budget.

Shared by the raw zip extractor and the document formats built on zip (OOXML, ODF).
``zipfile`` on Python < 3.11.8 does not refuse overlapping entries (CVE-2024-0450): many
central-directory entries pointing into the same compressed data make a small file expand
to terabytes while every entry looks honest. ``open_zip`` refuses them before any read.
"""

from __future__ import annotations

import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import Problems
from dlpd.classify.extract.reading import CHUNK, Read, read_bounded, yield_member
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

    ``zipfile`` checks the CRC in the read that reaches the end, and that read's data is
    lost with the error. Unzip tools extract such members with a warning, so a member
    with a bad CRC is read again without the check: its content must be scanned too.
    """
    budget.check_ratio(info.file_size, info.compress_size)
    got = _read(archive, info, budget)
    if got.error == "bad CRC":
        again = _read(archive, info, budget, check_crc=False)
        return Read(again.data, cut=again.cut, error="bad CRC")
    return got


def _read(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, *, check_crc: bool = True
) -> Read:
    try:
        handle = archive.open(info)
    except READ_ERRORS as exc:
        return Read(b"", cut=False, error=describe(exc))
    if not check_crc:
        # ZipExtFile skips the check when it has no expected CRC (as for directories).
        handle._expected_crc = None  # type: ignore[attr-defined]
    with handle:
        return read_bounded(
            handle.read,
            budget,
            compressed=info.compress_size,
            charge=check_crc,  # the first read charged these bytes already
            errors=READ_ERRORS,
            describe=describe,
        )


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
        cap = budget.member_cap()
        got = 0
        try:
            with self._archive.open(info) as handle:
                while got < cap:
                    chunk = handle.read(min(CHUNK, cap - got))
                    if not chunk:
                        return
                    got += len(chunk)
                    budget.charge_bytes(len(chunk))
                    budget.check_ratio(got, info.compress_size)
                    budget.check_time()  # a big sheet parses for seconds
                    yield chunk
                self.cut = bool(handle.read(1))
        except READ_ERRORS as exc:
            self.problem = describe(exc)
