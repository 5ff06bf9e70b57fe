"""The validator contract and the masking helpers every validator shares. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Validator:
    """What a signature's ``validator = "name"`` refers to.

    ``validate`` answers like presidio's ``validate_result``: True confirmed, False rejected,
    None no opinion. ``redact`` turns a matched value into a preview that is safe to store.
    ``finder`` yields candidates for keyword-only rules, whose YARA strings are just the
    context words because bare digit regexes make YARA slow.
    """

    name: str
    validate: Callable[[str], bool | None]
    redact: Callable[[str], str]
    finder: re.Pattern[bytes] | None = None


def mask(value: str, head: int, tail: int, keep: str = " -") -> str:
    """Star every character but the first ``head`` and last ``tail`` significant ones.

    Characters in ``keep`` (separators) stay as they are and do not count, so that
    ``4194 0000 0000 6288`` masks to ``4194 **** **** 6288``.
    """
    significant = sum(1 for ch in value if ch not in keep)
    if head + tail >= significant:
        head, tail = 0, 0
    out: list[str] = []
    seen = 0
    for ch in value:
        if ch in keep:
            out.append(ch)
            continue
        clear = seen < head or seen >= significant - tail
        out.append(ch if clear else "*")
        seen += 1
    return "".join(out)


def generic_redact(value: str) -> str:
    """A preview that never shows more than four characters of the match.

    Short values are starred whole: two clear characters of a five-character marker
    would already say too much.
    """
    text = " ".join(value.split())
    if len(text) <= 4:
        return "*" * len(text)
    if len(text) < 8:
        return text[0] + "*" * (len(text) - 2) + text[-1]
    # The star count is capped so that a preview does not give away a long secret's length.
    return text[:2] + "*" * min(len(text) - 4, 8) + text[-2:]


def is_all_same(text: str) -> bool:
    return len(set(text)) <= 1
