"""Legacy Office (.doc, .xls, .ppt) and Outlook .msg: UTF-16 text out of OLE2 streams.

These files keep their text in streams of an OLE2 compound file, often as UTF-16LE: a
Japanese .doc's 社外秘 is never in the raw bytes as UTF-8, and a stream may be spread over
non-contiguous sectors. So: reassemble each stream (olefile), decode it as UTF-16LE at both
byte alignments, and keep the runs of readable characters. The 8-bit text of these formats
is already matched in the file's raw bytes. No record structure is parsed: what comes out
is text runs, not paragraphs, which is what the signatures need.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import DocumentText
from dlpd.classify.extract.reading import hand_over, read_bounded
from dlpd.classify.extract.xls import workbook_lines
from dlpd.classify.limits import Budget
from dlpd.errors import ExtractionError

# Readable text in UTF-16: ASCII and Latin-1, general punctuation, CJK symbols, kana and
# kanji, full-width forms; plus Word's control characters, which stand for cell ends
# (\x07), line and page breaks (\x0b, \x0c) and field marks (\x13-\x15).
_RUN = re.compile(
    "[\x07\t\n\x0b\x0c\r\x13-\x15 -~\xa0-\xff\u2000-\u206f\u3000-\u9fff\uff00-\uffef]{4,}"
)
_WORD_CONTROLS = str.maketrans({"\x07": "\t", "\x0b": "\n", "\x0c": "\n", "\x13": " ",
                                "\x14": " ", "\x15": " "})
# olefile logs its complaints about broken files; the outcome says it, not our logs.
_OLEFILE_LOG = logging.getLogger("olefile")
_OLEFILE_LOG.addHandler(logging.NullHandler())
_OLEFILE_LOG.propagate = False


def utf16_runs(data: bytes) -> list[str]:
    """Readable UTF-16LE runs of ``data``, tried at both byte alignments.

    The wrong alignment decodes to CJK-looking noise that no signature matches; trying
    both costs less than knowing where each record's text starts.
    """
    runs: list[str] = []
    for start in (0, 1):
        body = data[start:]
        text = body[: len(body) & ~1].decode("utf-16-le", "replace")
        runs.extend(m.group().translate(_WORD_CONTROLS) for m in _RUN.finditer(text))
    return runs


# Outlook .msg: each attachment is a storage holding its bytes and its file name.
_ATTACHMENT = re.compile(r"__attach_version1\.0_#[0-9A-Fa-f]{8}")
_ATTACH_DATA = "__substg1.0_37010102"
_ATTACH_NAMES = ("__substg1.0_3707001F", "__substg1.0_3704001F")  # long, then 8.3 name
_ERRORS = (OSError, ValueError, IndexError, TypeError)


def extract_ole(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    # olefile is imported on the first OLE2 file only (most trees have few).
    import olefile  # noqa: PLC0415

    whole = read_bounded(stream.read, budget, charge=False)
    # The file and its attachments are held until the last attachment was classified.
    held = len(whole.data)
    budget.hold(held)
    try:
        yield from _extract_ole(olefile, whole.data, budget)
    finally:
        budget.release(held)


def _extract_ole(olefile: Any, whole: bytes, budget: Budget) -> Iterator[Member]:
    try:
        ole = olefile.OleFileIO(whole)
    except _ERRORS as exc:
        raise ExtractionError(f"malformed OLE2 file ({type(exc).__name__})") from None
    text = DocumentText(budget)
    problems = 0
    attachments: dict[str, bytes] = {}
    names: dict[str, str] = {}
    if ole.exists("Workbook") or ole.exists("Book"):
        try:
            text.extend(workbook_lines(whole, text.left, budget.check_time))
        except ValueError:
            problems += 1
    try:
        for entry in ole.listdir(streams=True, storages=False):
            if text.full:
                break
            budget.charge_member()
            try:
                got = read_bounded(ole.openstream(entry).read, budget, errors=_ERRORS)
            except _ERRORS:
                problems += 1
                continue
            problems += got.error is not None
            storage = "/".join(entry[:-1])
            if len(entry) >= 2 and _ATTACHMENT.fullmatch(entry[-2]):
                if entry[-1] == _ATTACH_DATA:
                    attachments[storage] = got.data
                    budget.hold(len(got.data))
                    continue
                if entry[-1] in _ATTACH_NAMES and storage not in names:
                    names[storage] = got.data.decode("utf-16-le", "replace").strip("\x00 ")
            text.extend(utf16_runs(got.data))
    finally:
        ole.close()
    yield Member("text", text.to_bytes("text"), is_text=True, truncated=text.cut)
    yield from _attachments(attachments, names, budget)
    if problems:
        raise ExtractionError(f"{problems} unreadable stream(s) in OLE2 file")


def _attachments(
    attachments: dict[str, bytes], names: dict[str, str], budget: Budget
) -> Iterator[Member]:
    """Attachments (held in the budget), classified like files: "mail.msg!design.zip"."""
    try:
        for number, storage in enumerate(sorted(attachments), start=1):
            data = attachments.pop(storage)
            budget.release(len(data))  # handed over, held by hand_over from here
            name = names.get(storage) or f"attachment{number}"
            yield from hand_over(budget, Member(name, data, is_text=False))
            del data
    finally:
        budget.release(sum(map(len, attachments.values())))
