"""What the fingerprint lookups mean for one scanned file: a copy, a derivative, or nothing.

Pure: the store counts (shared prints per source, a sha256 hit, table evidence), this
module decides. A text derivative is judged by the share of the SOURCE's prints found
in the file (``[fingerprints] min_share``, default 0.2: a 30% paste measured 0.16 to
0.54 of the source's prints, median 0.295, since winnowing samples prints unevenly and loses
those across the paste's edges): a student's draft that holds
31% of a labelled spec is derived from it, whatever else the draft holds. A source too
small to give evidence (fewer than ``MIN_PRINTS`` shared prints) never matches by share
alone: two prints of a short note can be a quotation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_MIN_SHARE", "MIN_PRINTS", "Match", "copy_of", "text_matches"]

DEFAULT_MIN_SHARE = 0.2
# Independent 32-byte passages that two texts must share before a share counts.
MIN_PRINTS = 3


@dataclass(frozen=True, slots=True)
class Match:
    """The file is a ``copy`` of source ``source_id`` (same sha256) or ``derived`` from it
    (``share`` of the source's text prints, or ``rows``/``score`` of its table)."""

    source_id: int
    kind: Literal["copy", "derived"]
    share: float | None = None
    rows: int | None = None
    score: float | None = None


def copy_of(source_ids: Iterable[int]) -> tuple[Match, ...]:
    """Every source with the file's sha256: an exact copy of each."""
    return tuple(Match(source_id=s, kind="copy", share=1.0) for s in sorted(set(source_ids)))


def text_matches(shared: Iterable[tuple[int, int]], source_prints: Mapping[int, int], *,
                 min_share: float = DEFAULT_MIN_SHARE, min_prints: int = MIN_PRINTS,
                 exclude: Iterable[int] = ()) -> tuple[Match, ...]:
    """Derivatives from lookup counts: ``shared`` is (source id, prints the file shares
    with it), ``source_prints`` the number of prints each source registered. Sources in
    ``exclude`` (already matched as copies) are left out. Largest share first."""
    if not 0.0 < min_share <= 1.0:
        raise ValueError("min_share must be in (0, 1]")
    skip = set(exclude)
    found = []
    for source_id, count in shared:
        total = source_prints.get(source_id, 0)
        if source_id in skip or total <= 0 or count < min_prints:
            continue
        share = min(count / total, 1.0)
        if share >= min_share:
            found.append(Match(source_id=source_id, kind="derived", share=round(share, 4)))
    found.sort(key=lambda m: (-(m.share or 0.0), m.source_id))
    return tuple(found)
