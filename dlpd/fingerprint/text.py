"""Text fingerprints: winnowing over anchored k-grams of normalised text. Pure (stdlib).

``normalize`` keeps what survives a re-render: whitespace, soft hyphens and zero-width
characters go first (so that a base letter and its combining mark split by them still
compose), then NFKC (full-width forms, ligatures), casefold, and only letters, marks and
numbers stay. Line breaks, hyphenation at a line end, punctuation and spacing therefore
never change a print.

``text_prints`` follows Schleimer, Wilkerson and Aiken (2003, "Winnowing: local
algorithms for document fingerprinting") over the UTF-8 bytes of the normalised text,
with one change for speed in CPython: only k-grams that start on an *anchor* byte (a
byte value divisible by 4: about a quarter of the positions in any script, since it
cuts across ASCII letters, digits and UTF-8 lead and continuation bytes alike) take part.
From every window of ``w`` consecutive anchored k-grams the one with the smallest
CRC-32 (ties: the leftmost) is selected, and its print is a 47-bit BLAKE2b hash of the
k-gram. The choice of anchors depends only on the text, so the winnowing guarantee
holds as before: two texts sharing a passage that holds ``w`` anchors after its first
``k`` bytes share a print (about 4·w + k bytes of normalised text), and the prints of a
passage do not depend on what surrounds it.

Why these numbers (tests/fingerprint/ and bench/fingerprint_bench.py measure them; the
issue's starting point, k=40 and w=64 characters, found 79% of 500-character and 99% of
1,000-character excerpts and cost 0.47 MB of index per MB of text):
K = 32 bytes, about six English words: long enough that unrelated documents on the same
subject share no print (none did in the stdlib-docstring corpus down to k=24), short
enough to fit many prints into an excerpt. W = 24 anchored k-grams, a window of about 96
normalised characters: one print per ~70 bytes of text, so 500-character excerpts carry
~6 prints and 98% of them are found with 3 or more (99% with 2), 1,000-character ones
all; W = 12 found 99.5% with 3 but doubles the index and the lookup's work, W = 28 fell
to 95%. Prints are 47 bits: SQLite stores them in 6 bytes instead of 8 (the index is a
fifth smaller), and a chance collision stays negligible (a 1 MB query against 100,000
labelled documents expects ~0.005 accidental shared prints, and a match needs several).

Speed: the per-position work is C-level (``bytes.translate``, ``itertools.compress``,
``zlib.crc32`` in one comprehension); the window minima are exact but computed only
over the k-grams whose CRC is small enough to be a minimum (about six per window), with
an exact fall-back for the rare window that holds none. No content leaves this module:
only integer prints and counts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from hashlib import blake2b
from itertools import accumulate, chain, compress, repeat
from operator import lshift, or_
from zlib import crc32

__all__ = ["K", "TextPrints", "W", "normalize", "text_prints"]

K = 32
W = 24

_PRINT_MASK = (1 << 47) - 1
_LOW32 = (1 << 32) - 1
# Expected k-grams per window below the threshold: windows holding none (e**-6 of them)
# take the exact fall-back.
_CANDIDATES_PER_WINDOW = 6
_ANCHOR = bytes(1 if byte % 4 == 0 else 0 for byte in range(256))
_ASCII_DROP = bytes(c for c in range(128) if not (chr(c).isdigit() or chr(c).islower()))
# Deleted before NFKC with the whitespace (what str.split() splits on).
_INVISIBLE = ("\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
# Bounded: NFKC and casefold reach their fixed point in one or two rounds.
_MAX_ROUNDS = 4


class _LetterMarkNumber(dict[int, int | None]):
    """A ``str.translate`` table keeping L*, M*, N*: filled as characters are met.

    Bounded to one entry per code point met, at most ``_LIMIT`` (beyond that the answer
    is computed and not kept), so hostile text cannot grow it without end.
    """

    _LIMIT = 1 << 16

    def __missing__(self, code: int) -> int | None:
        kept = code if unicodedata.category(chr(code))[0] in "LMN" else None
        if len(self) < self._LIMIT:
            self[code] = kept
        return kept


_KEEP = _LetterMarkNumber()


@dataclass(frozen=True, slots=True)
class TextPrints:
    """The winnowed prints of a text and the length of its normalised form."""

    prints: frozenset[int]
    chars: int


def normalize(text: str) -> str:
    """Whitespace, soft hyphens and zero-width characters out, then NFKC, casefold, and
    only letters, marks and numbers kept; idempotent."""
    if text.isascii():
        return text.encode("ascii").lower().translate(None, _ASCII_DROP).decode("ascii")
    folded = "".join(text.split())
    for invisible in _INVISIBLE:
        if invisible in folded:
            folded = folded.replace(invisible, "")
    for _ in range(_MAX_ROUNDS):
        folded = unicodedata.normalize("NFKC", folded)
        folded = unicodedata.normalize("NFKC", folded.casefold()).translate(_KEEP)
        # Only letters, marks and numbers are left: if NFKC and casefold leave the rest
        # alone, another round would too.
        if unicodedata.is_normalized("NFKC", folded) and folded.casefold() == folded:
            break
    return folded


def text_prints(text: str, *, k: int = K, w: int = W) -> TextPrints:
    """The prints of ``text``: winnowing (window ``w``) over anchored ``k``-byte grams."""
    if k < 1 or w < 1:
        raise ValueError("k and w must be positive")
    norm = normalize(text)
    data = norm.encode("utf-8", "surrogatepass")
    chars = len(norm)
    starts = len(data) - k + 1
    if starts <= 0:
        return TextPrints(frozenset(), chars)
    anchors = list(compress(range(starts), data[:starts].translate(_ANCHOR)))
    crcs = [crc32(data[i:i + k]) for i in anchors]
    chosen = _winnow(crcs, w)
    prints = frozenset(
        int.from_bytes(blake2b(data[anchors[j]:anchors[j] + k], digest_size=8).digest(),
                       "big") & _PRINT_MASK
        for j in chosen)
    return TextPrints(prints, chars)


def _winnow(crcs: list[int], w: int) -> set[int]:
    """Indices of the window minima of ``crcs`` (leftmost on ties), windows of ``w``."""
    n = len(crcs)
    if n == 0:
        return set()
    if n <= w:
        return {min(range(n), key=crcs.__getitem__)}
    # Only a value below the threshold can be a window's minimum, unless its window holds
    # no such value at all (handled below, exactly).
    threshold = min((1 << 32) * _CANDIDATES_PER_WINDOW // w, 1 << 32)
    cands = list(compress(range(n), map(threshold.__gt__, crcs)))
    chosen = _selected_candidates(crcs, cands, n, w)
    previous = -1
    for c in chain(cands, (n,)):
        if c - previous - 1 >= w:  # whole windows inside this gap hold no candidate
            chosen.update(previous + 1 + j for j in _window_minima(crcs[previous + 1:c], w))
        previous = c
    return chosen


def _selected_candidates(crcs: list[int], cands: list[int], n: int, w: int) -> set[int]:
    """Candidates that are the minimum of some window: the span between the nearest
    smaller candidates on either side holds a whole window."""
    keys = [crcs[c] << 32 | c for c in cands]
    left: list[int] = []
    right = [n] * len(cands)
    stack: list[int] = []  # indices into cands, keys increasing
    for idx, key in enumerate(keys):
        while stack and keys[stack[-1]] > key:
            right[stack.pop()] = cands[idx]
        left.append(cands[stack[-1]] if stack else -1)
        stack.append(idx)
    return {c for c, lo, hi in zip(cands, left, right, strict=True) if hi - lo - 1 >= w}


def _window_minima(values: list[int], w: int) -> set[int]:
    """Indices of the minima of every window of ``w`` in ``values`` (van Herk/Gil-Werman:
    block prefix and suffix minima, on keys that carry the index)."""
    n = len(values)
    keys = list(map(or_, map(lshift, values, repeat(32)), range(n)))
    prefix = list(chain.from_iterable(accumulate(keys[j:j + w], min) for j in range(0, n, w)))
    suffix: list[int] = []
    for j in range(0, n, w):
        block = keys[j:j + w]
        suffix.extend(reversed(list(accumulate(reversed(block), min))))
    return {key & _LOW32 for key in map(min, suffix[:n - w + 1], prefix[w - 1:])}
