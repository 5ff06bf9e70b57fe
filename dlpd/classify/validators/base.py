"""The validator contract and the masking helpers every validator shares. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Validator:
    """What a signature's ``validator = "name"`` refers to.

    ``validate`` answers like presidio's ``validate_result``: True confirmed, False rejected,
    None no opinion. ``redact`` turns a matched value into a preview that is safe to store.
    ``finder`` yields candidates for keyword-only rules, whose YARA strings are just the
    context words because bare digit regexes make YARA slow. ``spans(buffer, lo, hi)``,
    if given, names the ranges of ``[lo, hi)`` outside which the finder finds nothing
    (it is run only there, with the same result as over all of ``[lo, hi)``).
    """

    name: str
    validate: Callable[[str], bool | None]
    redact: Callable[[str], str]
    finder: re.Pattern[bytes] | None = None
    spans: Callable[[bytes, int, int], Iterable[tuple[int, int]]] | None = None


def _shorthand() -> bytes:
    """A byte's class: "0" a digit, "-" a space or hyphen, "x" anything else."""
    table = bytearray(b"x" * 256)
    table[ord("0") : ord("9") + 1] = b"0" * 10
    table[ord(" ")] = table[ord("-")] = ord("-")
    return bytes(table)


_SHORTHAND = _shorthand()
_NOT_IN_RUN = re.compile(rb"[^0-9 \-]")
# Bytes put in shorthand at once: the copy a search holds stays small whatever the buffer.
_SLICE = 1 << 20
_LOOK_BACK = 256


@dataclass(frozen=True, slots=True)
class DigitRuns:
    """Where a finder of grouped digits can match, found at C speed.

    For finders whose matches are made of digits, spaces and hyphens only and whose
    lookaheads read past a byte only when it is one of those (the card finder). Every
    match then lies in a run of such bytes, and a run that holds no match holds no
    ``shape`` (written in shorthand: ``0`` a digit, ``-`` a space or hyphen): the spans are
    the runs that hold one, each with the byte that ends it. A finder run from a span's
    start finds what it finds there from ``lo`` (no match crosses the byte before a
    run, and lookbehinds see it), and one that stops at the span's end sees the byte
    each match's lookahead reads. Python's ``re`` stops at every digit of a digit-heavy
    text (a PostScript manual: 30 MB/s); ``bytes.find`` does not.
    """

    shapes: tuple[bytes, ...]

    def spans(self, buffer: bytes, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        overlap = max(len(shape) for shape in self.shapes) - 1
        covered = dict.fromkeys(self.shapes, lo)
        for start in range(lo, hi, _SLICE):
            stop = min(start + _SLICE, hi)
            view = buffer[start : min(stop + overlap, hi)].translate(_SHORTHAND)
            for shape in self.shapes:
                # Shapes that start in this slice; the next slice finds the others.
                last = stop - start + len(shape) - 1
                at = view.find(shape, max(covered[shape] - start, 0), last)
                while at >= 0:
                    run = (_run_start(buffer, lo, start + at),
                           _run_end(buffer, start + at + len(shape), hi))
                    found.add(run)
                    covered[shape] = run[1]
                    at = view.find(shape, run[1] - start, last)
        return iter(sorted(found))


def _run_start(buffer: bytes, lo: int, at: int) -> int:
    """Where the run of digits, spaces and hyphens holding ``at`` starts (``lo`` at most)."""
    width = _LOOK_BACK
    while True:
        start = max(lo, at - width)
        i = buffer[start:at].translate(_SHORTHAND).rfind(b"x")
        if i >= 0:
            return start + i + 1
        if start == lo:
            return lo
        width *= 16


def _run_end(buffer: bytes, at: int, hi: int) -> int:
    """Just past the byte that ends the run at ``at`` (``hi`` at most)."""
    end = _NOT_IN_RUN.search(buffer, at, hi)
    return end.end() if end is not None else hi


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
