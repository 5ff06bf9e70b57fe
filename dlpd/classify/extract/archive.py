"""Zip and tar archives: each member's raw bytes, by its path in the archive.

A zip that is an OOXML or ODF package is a document: its text is extracted instead
(``ooxml``, ``odf``). Problems with single members (encrypted, bad CRC, truncated) do not
lose the others: they are collected and raised as one ``ExtractionError`` after the last
member has been yielded.
"""

from __future__ import annotations

import lzma
import tarfile
import zlib
from collections.abc import Iterator
from typing import IO, BinaryIO, cast

from dlpd.classify.extract import odf, ooxml
from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import Problems
from dlpd.classify.extract.reading import read_bounded, yield_member
from dlpd.classify.extract.streams import DecompressingReader
from dlpd.classify.extract.zipread import open_zip, raw_members
from dlpd.classify.limits import Budget
from dlpd.errors import ExtractionError

# What starts a compressed tar, and the stream kind that decompresses it.
_COMPRESSED_TAR = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_TAR_ERRORS: tuple[type[Exception], ...] = (
    tarfile.TarError,
    EOFError,
    OSError,
    zlib.error,
    lzma.LZMAError,
    ValueError,
)


def extract_zip(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    """Members of a zip, or the text of the OOXML/ODF document it is."""
    with open_zip(stream) as archive:
        names = archive.namelist()
        document = ooxml.extract_ooxml(archive, budget) if ooxml.is_ooxml(names) else None
        if document is not None:
            yield from document
            return
        if odf.is_odf(archive):
            yield from odf.extract_odf(archive, budget)
            return
        problems = Problems("zip")
        yield from raw_members(archive, archive.infolist(), budget, problems)
        problems.raise_if_any()


def _open_tar(stream: BinaryIO, reader: DecompressingReader | None) -> tarfile.TarFile:
    # backslashreplace: a name that is not UTF-8 stays readable and encodable.
    try:
        if reader is None:
            return tarfile.open(fileobj=stream, mode="r:", errors="backslashreplace")
        # Stream mode only ever calls ``read``, which is all the reader has.
        return tarfile.open(fileobj=cast(IO[bytes], reader), mode="r|", errors="backslashreplace")
    except _TAR_ERRORS as exc:
        raise ExtractionError("not a tar archive, or corrupt") from exc


def extract_tar(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    """Regular-file members of a tar, plain or compressed; links and devices skipped.

    A compressed tar is read as a stream through a ``DecompressingReader``, so that the
    data of members skipped or read only in part is decompressed within the budget too.
    """
    head = stream.read(6)
    stream.seek(0)
    kind = next((k for magic, k in _COMPRESSED_TAR if head.startswith(magic)), None)
    reader = DecompressingReader(stream, budget, kind) if kind else None
    with _open_tar(stream, reader) as archive:
        problems = Problems("tar")
        while True:
            try:
                info = archive.next()
            except _TAR_ERRORS:
                problems.add("(header)", (reader.problem if reader else None) or "truncated")
                break
            if info is None:
                break
            if not info.isreg():
                continue
            budget.charge_member()
            handle = archive.extractfile(info)
            if handle is None:
                continue
            got = read_bounded(
                handle.read,
                budget,
                charge=reader is None,
                errors=_TAR_ERRORS,
                describe=lambda _: "truncated",
            )
            if got.error is not None:
                problems.add(info.name, (reader.problem if reader else None) or got.error)
            yield from yield_member(info.name, got, budget)
            if got.error is not None:
                break  # the archive stream is broken past this point
            del got  # the next member is read within the memory this one held
        if reader is not None and reader.problem is not None and not problems:
            problems.add("(stream)", reader.problem)
        problems.raise_if_any()
