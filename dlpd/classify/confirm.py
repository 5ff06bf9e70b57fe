"""Confirm one rule hit: validate its candidates, weigh nearby keywords, redact previews.

Pure: standard library, ``dlpd.model`` and the validator registry only. The caller hands
in the buffer YARA matched and the hit it produced; nothing here reads files or logs.

Strings whose identifier starts with ``$kw`` are context keywords; every other string is
a candidate. A candidate named ``$..._eolN`` was matched by YARA up to the first byte of
its value only; confirm reads the rest of its line (``_line_tail``). A rule with keywords
only and a validator that has a ``finder`` (the card, SSN and My Number rules: digit-only
YARA regexes are slow) gets its candidates from the finder, run over the buffer only once
the rule has fired.

Matched text goes into nothing but ``Detection.previews``, and only through a redactor.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, islice

from dlpd.classify import markings
from dlpd.classify.validators import Validator, generic_redact
from dlpd.model import Confidence, Detection, RuleHit, StringHit

# Bounds the validator calls (and the finder) on adversarial input: one file full of
# card-shaped numbers costs at most this many checks per rule.
MAX_CANDIDATES = 10_000
MAX_PREVIEWS = 3
# Slack around a keyword window, so a candidate that starts inside the window is never cut
# short at its edge (the longest finder match, a grouped 19-digit card, is 23 bytes).
_WINDOW_MARGIN = 64


# libyara keeps at most this many bytes of a match (MAX_MATCH_DATA): a candidate read to
# the end of its line here is cut where YARA would have cut the whole match.
MAX_MATCH_DATA = 512
# `$assign_eol160`: the YARA regex ends with one `[^\r\n]`, and confirm reads the rest of
# the line, up to 160 bytes of value in all: the candidate `[^\r\n]{1,160}` would give.
# A long bounded repeat costs libyara work on every byte of every match (measured: the
# password rule's three tails were a sixth of the rules' time on /usr/share/doc).
_EOL_SUFFIX = re.compile(r"_eol([1-9][0-9]{0,3})$")
_LINE_REST = re.compile(rb"[^\r\n]*")
# A rule set has a few hundred string identifiers; a site's rules could bring more.
_ROLE_CACHE = 4096


def is_keyword(identifier: str) -> bool:
    return identifier.lstrip("$").startswith("kw")


@lru_cache(maxsize=_ROLE_CACHE)
def _role(identifier: str) -> int | None:
    """None for a keyword; for a candidate, the bytes of value its line may hold (0: the
    candidate is whole as YARA matched it). Worked out once per identifier: a file full
    of `PASS:` lines gives the password rule a hundred thousand hits."""
    if is_keyword(identifier):
        return None
    tail = _EOL_SUFFIX.search(identifier)
    return int(tail.group(1)) if tail else 0


def _line_tail(cand: StringHit, tail: int, buffer: bytes) -> StringHit:
    """``cand`` (its value's first byte) read on to the end of its line, ``tail`` bytes
    of value at most, and ``MAX_MATCH_DATA`` bytes in all, as libyara would have kept it."""
    end = cand.offset + len(cand.data)
    stop = min(end + tail - 1, cand.offset + MAX_MATCH_DATA, len(buffer))
    if stop <= end:
        return cand
    rest = _LINE_REST.match(buffer, end, stop)
    if rest is None or rest.end() == end:
        return cand
    return StringHit(cand.identifier, cand.offset, cand.data + rest.group())


@dataclass(frozen=True, slots=True)
class _Keywords:
    """Keyword spans sorted by start, with the running maximum of their ends."""

    starts: tuple[int, ...]
    max_ends: tuple[int, ...]

    @classmethod
    def of(cls, hits: list[StringHit]) -> _Keywords:
        spans = sorted((h.offset, h.offset + len(h.data)) for h in hits)
        return cls(
            starts=tuple(s for s, _ in spans),
            max_ends=tuple(accumulate((e for _, e in spans), max)),
        )

    def is_near(self, start: int, end: int, proximity: int) -> bool:
        """True when some keyword lies within ``proximity`` bytes of ``[start, end)``."""
        i = bisect_right(self.starts, end + proximity)
        if i == 0:
            return False
        if self.starts[i - 1] >= start:
            return True  # a keyword begins inside the candidate or after it, close enough
        return self.max_ends[i - 1] >= start - proximity


def _windows(keywords: list[StringHit], proximity: int, size: int) -> list[tuple[int, int]]:
    """Merged byte ranges within ``proximity`` of some keyword."""
    spans = sorted(
        (max(0, k.offset - proximity - _WINDOW_MARGIN),
         min(size, k.offset + len(k.data) + proximity + _WINDOW_MARGIN))
        for k in keywords
    )  # fmt: skip
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _found(
    finder: re.Pattern[bytes], validator: Validator, buffer: bytes,
    windows: list[tuple[int, int]] | None,
) -> Iterator[StringHit]:
    """The validator's finder matches over the whole buffer, or only inside ``windows``;
    within those, only where the validator's ``spans`` say a match can be.

    Lookbehinds still see the bytes before a window's start, so a digit run is never
    entered in its middle; a run cut by a window's end starts outside the proximity
    and is dropped as far from any keyword.
    """
    spans = validator.spans
    for start, end in windows if windows is not None else [(0, len(buffer))]:
        for lo, hi in spans(buffer, start, end) if spans is not None else [(start, end)]:
            for match in finder.finditer(buffer, lo, hi):
                yield StringHit(identifier="finder", offset=match.start(), data=match.group())


def _lookup(validators: Mapping[str, Validator], name: str | None, rule: str) -> Validator | None:
    if name is None:
        return None
    try:
        return validators[name]
    except KeyError:
        raise KeyError(f"rule {rule} names unknown validator {name!r}") from None


@dataclass(slots=True)
class _Screening:
    """What became of one rule's candidates: counts for the reasons, previews, offsets."""

    confirmed: int = 0
    rejected: int = 0
    unverified: int = 0
    far: int = 0
    any_near: bool = False
    offsets: set[int] = field(default_factory=set)
    previews: list[str] = field(default_factory=list)
    kept_end: int = -1

    def keep(self, cand: StringHit, verdict: bool | None, near: bool, preview: str) -> None:
        self.confirmed += verdict is True
        self.unverified += verdict is None
        self.any_near = self.any_near or near
        # Two strings of one rule matching the same text ("mysql+pymysql://u:p@" also
        # matches from "pymysql") are one finding: overlapping candidates count once.
        if cand.offset >= self.kept_end:
            self.offsets.add(cand.offset)
            if len(self.previews) < MAX_PREVIEWS and preview not in self.previews:
                self.previews.append(preview)
        self.kept_end = max(self.kept_end, cand.offset + len(cand.data))


def _screen(
    candidates: list[StringHit],
    validator: Validator | None,
    keywords: _Keywords,
    proximity: int,
    require_keyword: bool,
) -> _Screening:
    """Validate each candidate and weigh its distance to the keywords."""
    screening = _Screening()
    verdicts: dict[bytes, bool | None] = {}
    redact = validator.redact if validator is not None else generic_redact
    for cand in sorted(candidates, key=lambda s: (s.offset, -len(s.data))):
        value = cand.data.decode("utf-8", errors="replace")
        verdict: bool | None = None
        if validator is not None:
            # Repeated values (a CSV column) are validated once.
            if cand.data not in verdicts:
                verdicts[cand.data] = validator.validate(value)
            verdict = verdicts[cand.data]
            if verdict is False:
                screening.rejected += 1
                continue
        near = keywords.is_near(cand.offset, cand.offset + len(cand.data), proximity)
        if require_keyword and not near:
            screening.far += 1
            continue
        screening.keep(cand, verdict, near, redact(value))
    return screening


def _marker_detection(hit: RuleHit, member: str | None) -> Detection:
    """Markers and file formats: the rule firing is the finding."""
    meta = hit.meta
    reason = f"{len(hit.strings)} marker matches" if hit.strings else "file structure matched"
    return Detection(
        rule=meta.rule,
        category=meta.category,
        confidence=meta.confidence,
        count=max(1, len(hit.strings)),
        member=member,
        reasons=(reason,),
    )


def _placement(candidates: list[StringHit], buffer: bytes, *,
               stamp: bool) -> markings.Assessment:
    """Where a marking rule's hits sit: the first that marks the material, else the
    first hit's placement (a mention)."""
    ordered = sorted(candidates, key=lambda s: s.offset)[: markings.MAX_ASSESSED]
    found = []
    for cand in ordered:
        placed = markings.assess(buffer, cand.offset, cand.offset + len(cand.data), stamp=stamp)
        if placed.placement.is_marking:
            return placed
        found.append(placed)
    return markings.best(found)


def confirm(
    hit: RuleHit,
    buffer: bytes,
    member: str | None,
    validators: Mapping[str, Validator],
) -> Detection | None:
    """A detection for ``hit`` over ``buffer``, or None when no candidate survives."""
    meta = hit.meta
    validator = _lookup(validators, meta.validator, meta.rule)
    keyword_hits: list[StringHit] = []
    candidates: list[StringHit] = []
    for string in hit.strings:
        (keyword_hits if _role(string.identifier) is None else candidates).append(string)
    reasons: list[str] = []

    finder = validator.finder if validator is not None and not candidates else None
    if validator is not None and finder is not None:
        # A candidate without a keyword nearby is dropped anyway: look only near keywords.
        windows = (
            _windows(keyword_hits, meta.proximity, len(buffer)) if meta.require_keyword else None
        )
        candidates = list(islice(_found(finder, validator, buffer, windows), MAX_CANDIDATES + 1))
    elif not candidates:
        return _marker_detection(hit, member)

    if len(candidates) > MAX_CANDIDATES:
        candidates = sorted(candidates, key=lambda s: s.offset)[:MAX_CANDIDATES]
        reasons.append(f"candidates capped at {MAX_CANDIDATES}")
    # After the cap: lines past it would be read for nothing.
    candidates = [_line_tail(c, tail, buffer) if (tail := _role(c.identifier)) else c
                  for c in candidates]

    screening = _screen(
        candidates, validator, _Keywords.of(keyword_hits), meta.proximity, meta.require_keyword
    )
    if validator is not None:
        tally = f"validator {validator.name}: {screening.confirmed} confirmed, "
        tally += f"{screening.rejected} rejected"
        if screening.unverified:
            tally += f", {screening.unverified} unverified"
        reasons.append(tally)
    if screening.far:
        reasons.append(f"{screening.far} without a keyword within {meta.proximity} bytes dropped")
    if not screening.offsets:
        return None

    confidence = meta.confidence
    if screening.any_near and keyword_hits:
        confidence = confidence.raised()
        reasons.append(f"keyword within {meta.proximity} bytes")
    if meta.marking:
        placed = _placement(candidates, buffer, stamp=meta.marking == "stamp")
        reasons.append(placed.reason)
        if not placed.placement.is_marking:
            confidence = Confidence.LOW
    return Detection(
        rule=meta.rule,
        category=meta.category,
        confidence=confidence,
        count=len(screening.offsets),
        member=member,
        previews=tuple(screening.previews),
        reasons=tuple(reasons),
    )
