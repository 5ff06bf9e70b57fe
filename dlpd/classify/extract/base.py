"""What every extractor yields, and the signature they share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from dlpd.classify.limits import Budget


@dataclass(frozen=True, slots=True)
class Member:
    """One thing found inside a container or document.

    ``is_text``: ``data`` is extracted document text, UTF-8 encoded, to be matched as is.
    Otherwise ``data`` is a member's raw bytes, to be typed and classified recursively.
    ``truncated``: only a prefix of the member was read (the budget said so).
    ``part``: a text member that is a named part of its file (a notebook cell, a database
    table): detections in it name it (``nb.ipynb!cell-12``). Other text members are the
    file's own text and their detections name the file.
    ``via``: how the text was obtained when that is worth a reason on every detection in
    it (``"ocr"``: read from pixels, so a misread is possible).
    """

    name: str
    data: bytes
    is_text: bool
    truncated: bool = False
    part: bool = False
    via: str | None = None


# An extractor reads a seekable binary stream (the container) and yields members, charging
# the budget for every member and every decompressed byte. It raises ExtractionError for
# malformed input and LimitExceeded when a hard budget runs out.
Extractor = Callable[[BinaryIO, Budget], Iterator[Member]]
