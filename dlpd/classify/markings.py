"""Markings told apart from mentions: where a marking rule's hit sits in its text. Pure.

A security officer reads "EXPORT CONTROLLED" in a page header as a marking and the same
words in a seminar announcement as a topic. What tells them apart is placement, which is
what this module reads around each hit (a window of bytes, never the whole buffer):

- **banner**: the marking is what its line says (``CUI//SP-EXPT``, ``【社外秘】``,
  ``EXPORT CONTROLLED – ITAR``, a header or footer, a document property line);
- **field**: the value of a classification field (``秘密区分：極秘``,
  ``Export classification: ECCN 3A001``, ``Classification: 社外秘`` from docProps);
- **statement**: the sentence is about *this* material (``This document contains
  technical data ...``, ``本資料は ... に該当``, ``Subject to the ITAR.`` as a legend);

and what makes a hit a mention:

- **negated**: ``not subject to the EAR``, ``EAR99``, ``5A992`` (anti-terrorism only),
  ``License Exception TSU``, ``非該当``, ``対象外``;
- **quoted**: given as an example (``mark it "CUI//SP-PRVCY"``, ``「社外秘」と表示``);
- **listed**: one of several levels in a definition (``極秘、秘、社外秘の3区分``);
- **prose**: a topic word in running text (a syllabus on the ITAR and the EAR).

A marking placement keeps the rule's confidence; anything else is ``low``: reported only
at ``min_confidence = "low"``, with the reason. The checks run in that order (a negation
beats a banner: ``NOT EXPORT CONTROLLED``), and a detection takes the best placement of
its hits, so one real banner in a report that also discusses the regulations marks it.
"""

# Full-width punctuation and brackets are what Japanese text is written with: matching
# them is the point here, not an ambiguity.
# ruff: noqa: RUF001, RUF002
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from dlpd.classify import marking_words as words

# Bytes around a hit that are read: enough for a wrapped legend paragraph.
_WINDOW = 600
# A line longer than this is running text, not a banner or a field.
_MAX_BANNER_LINE = 160
# Hits of one rule assessed in one buffer: the first marking placement ends the search,
# and a file with thousands of mentions is not read thousands of times.
MAX_ASSESSED = 64


class Placement(StrEnum):
    BANNER = "banner"
    FIELD = "field"
    STATEMENT = "statement"
    NEGATED = "negated"
    QUOTED = "quoted"
    LISTED = "listed"
    PROSE = "prose"

    @property
    def is_marking(self) -> bool:
        return self in (Placement.BANNER, Placement.FIELD, Placement.STATEMENT)


@dataclass(frozen=True, slots=True)
class Assessment:
    placement: Placement
    why: str

    @property
    def reason(self) -> str:
        return f"{self.placement}: {self.why}"


_KANA_KANJI = re.compile(r"[\u3041-\u30ff\u4e00-\u9fff]")
# A name runs on into the hit, or the hit is an option's value: not a marking on a page.
_IDENTIFIER_BEFORE = re.compile(r"(?:[A-Za-z0-9_.\-/]|--[A-Za-z][\w-]*[ =])\Z")
_IDENTIFIER_AFTER = re.compile(r"[_=]|\.[A-Za-z]")
# Same length as what they replace, so that offsets into the window stay true.
_BREAKS = re.compile(r"[\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
# A marking token goes on over these: "CUI//S" matched, "CUI//SP-PRVCY" written.
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9/\-_.]")
# Letters of other words a banner line may hold ("briefing", "sheet header", a name).
_MAX_OTHER_LETTERS = 12
# Excel page headers and footers keep their codes: "&C社外秘", "&LCUI//SP-PRVCY".
_HEADER_CODE = re.compile(r"\A\s*(?:&\S{0,40})?&[LCR]\Z")
_TAG = re.compile(r"<[^<>]{0,200}>")
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#[0-9]{1,6}|#x[0-9A-Fa-f]{1,5});")
_SENTENCE_END = re.compile(r"(?:[.!?](?=\s)|[。！？]|\n[ \t]*\n|\n)")
# Lines at least this wide may be a paragraph wrapped by its writer: read on.
_WRAPPED_LINE = 60
_WIDE = re.compile(
    r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)


@dataclass(frozen=True, slots=True)
class _Around:
    """What is read around one hit."""

    hit: str
    line: str  # the hit's line
    at: tuple[int, int]  # the hit within ``line``
    sentence: str  # its sentence, wrapped lines joined
    before: str  # the sentence up to the hit's end
    window: str  # all that was read around it


def assess(buffer: bytes, start: int, end: int, *, stamp: bool = True) -> Assessment:
    """Where the hit ``buffer[start:end]`` sits, and so what it is: the first check
    that has an answer, else a mention in prose.

    ``stamp``: the hit is a marking's own wording (EXPORT CONTROLLED, CUI//..., 社外秘),
    which marks a page by standing alone on a line. False for references (a regulation's
    name, an ECCN, 外為法): alone on a line they are a heading ("Week 3: ITAR"), and they
    mark material only as a classification field's value or in a statement about it."""
    while start < end and buffer[start] in b" \t\r\n":
        start += 1
    while end > start and buffer[end - 1] in b" \t\r\n":
        end -= 1
    around = _around(buffer, start, end)
    for check in _CHECKS:
        found = check(around)
        if found is None:
            continue
        if found.placement is Placement.BANNER and not stamp:
            continue  # a reference alone on its line is a heading: read on
        return found
    return Assessment(Placement.PROSE, "a mention in running text")


def _negated(a: _Around) -> Assessment | None:
    if words.NOT_CONTROLLED.search(a.hit):
        return Assessment(Placement.NEGATED, "a classification that means not controlled")
    if words.NEGATION_BEFORE.search(a.before) or words.NEGATION_JA.search(a.sentence):
        return Assessment(Placement.NEGATED, "the sentence says it is not controlled")
    return None


def _named(a: _Around) -> Assessment | None:
    """Part of a name, not words on a page: a config key ``[labels.export-controlled]``,
    an option's value ``--label export-controlled``, ``itar_controlled_items``."""
    before = a.line[: a.at[0]]
    if _HEADER_CODE.match(before):  # "&CCUI//SP-PRVCY": an Excel page header's code
        return None
    if _IDENTIFIER_BEFORE.search(before) or _IDENTIFIER_AFTER.match(a.line[a.at[1]:]):
        return Assessment(Placement.QUOTED, "part of a name (a key, an option, an identifier)")
    return None


def _quoted(a: _Around) -> Assessment | None:
    if _is_quoted(a.line, *a.at) or words.EXAMPLE.search(a.before[-80:]):
        return Assessment(Placement.QUOTED, "given as an example")
    return None


def _listed(a: _Around) -> Assessment | None:
    if _is_listed(a.sentence):
        return Assessment(Placement.LISTED, "one of several levels in a list")
    if len({m.group(1) for m in words.DEFINED_LEVEL.finditer(a.window)}) >= 2:
        return Assessment(Placement.LISTED, "one of several levels defined line by line")
    return None


def _shaped(a: _Around) -> Assessment | None:
    return _line_shape(_plain(a.line), a.hit.strip())


def _about_this(a: _Around) -> Assessment | None:
    if words.QUESTION.search(a.sentence) or words.HEDGE.search(a.before):
        return None  # a question or a "may constitute" is no statement of fact
    if words.THIS.search(a.sentence) or words.THIS_JA.search(a.sentence):
        return Assessment(Placement.STATEMENT, "a statement about this material")
    if _states_controlled(a.sentence):
        return Assessment(Placement.STATEMENT, "states a controlled classification")
    if words.LEGEND_OPENER.search(a.sentence.lstrip(" \t\r\n-–—*•・(")):
        return Assessment(Placement.STATEMENT, "a legend")
    return None


# In this order: a negation beats a banner ("NOT EXPORT CONTROLLED"), an example in
# quotes beats a statement ("this policy: mark documents 'CUI'").
_CHECKS = (_negated, _named, _quoted, _listed, _shaped, _about_this)


def _states_controlled(sentence: str) -> bool:
    """A controlling classification with the words that say so right before it:
    "export controlled, ECCN 5D002", "subject to the EAR (ECCN 9E003)"."""
    for code in words.CONTROLLED_CODE.finditer(sentence):
        lead = sentence[max(0, code.start() - 30):code.start()]
        if words.CONTROLLED_WORDS.search(lead) and not words.EXAMPLE.search(lead):
            return True
    return False


def _around(buffer: bytes, start: int, end: int) -> _Around:
    text, hit_start, hit_end = _window(buffer, start, end)
    line_start = text.rfind("\n", 0, hit_start) + 1
    line_end = text.find("\n", hit_end)
    line_end = len(text) if line_end < 0 else line_end
    if not _is_japanese(text[hit_start:hit_end]):
        # The whole token: "CUI//S" matched, "CUI//SP-PRVCY" is what the text says.
        while hit_end < len(text) and _TOKEN_CHAR.match(text[hit_end]):
            hit_end += 1
    sentence, before = _sentence(text, hit_start, hit_end)
    return _Around(
        hit=text[hit_start:hit_end],
        line=text[line_start:line_end],
        at=(hit_start - line_start, hit_end - line_start),
        sentence=sentence,
        before=before,
        window=text,
    )


def best(assessments: list[Assessment]) -> Assessment:
    """The placement a detection takes: a marking if any hit is one, else the first."""
    for found in assessments:
        if found.placement.is_marking:
            return found
    return assessments[0]


def _window(buffer: bytes, start: int, end: int) -> tuple[str, int, int]:
    lo, hi = max(0, start - _WINDOW), min(len(buffer), end + _WINDOW)
    # Cut on character boundaries: a UTF-8 continuation byte never starts the window.
    while lo < start and (buffer[lo] & 0xC0) == 0x80:
        lo += 1
    head = buffer[lo:start].decode("utf-8", "replace")
    hit = buffer[start:end].decode("utf-8", "replace")
    tail = buffer[end:hi].decode("utf-8", "ignore")
    # Word 97 ends paragraphs with CR alone, and a string in a binary record (an Excel
    # page header in a .xls) is bounded by control bytes: line breaks like any other.
    text = _BREAKS.sub("\n", head + hit + tail)
    return text, len(head), len(head) + len(hit)


def _sentence(text: str, hit_start: int, hit_end: int) -> tuple[str, str]:
    """The sentence around the hit (lines of a wrapped paragraph joined), and its part
    up to the hit's end. A line shorter than a wrapped one ends its sentence: a title,
    a slide's bullet, a table cell."""
    begin = 0
    for ended in _ends(text, 0, hit_start):
        begin = ended
    stop = next(_ends(text, hit_end, len(text)), len(text))
    sentence = " ".join(text[begin:stop].split())
    before = " ".join(text[begin:hit_end].split())
    return sentence, before


def _ends(text: str, lo: int, hi: int) -> Iterator[int]:
    """Where sentences end in ``text[lo:hi]``: punctuation, a blank line, or the end
    of a line too short to have been wrapped."""
    for found in _SENTENCE_END.finditer(text, lo, hi):
        if found.group() != "\n":
            yield found.end()
            continue
        line_start = text.rfind("\n", 0, found.start()) + 1
        if _width(text[line_start:found.start()]) < _WRAPPED_LINE:
            yield found.end()


def _width(line: str) -> int:
    """Columns a line takes: a full-width (CJK) character is two."""
    return len(line) + len(_WIDE.findall(line))


def _plain(line: str) -> str:
    """A line without markup: HTML/XML tags and entities are not words."""
    return _ENTITY.sub(" ", _TAG.sub(" ", line)).strip()


def _is_quoted(line: str, start: int, end: int) -> bool:
    """The hit, or a phrase around it, stands in quotes within a longer line."""
    left, right = line[:start], line[end:]
    if len(left.strip()) <= 1 and len(right.strip()) <= 1:
        return False  # the line is only the (quoted) marking: a banner
    opener, closer = left.rstrip()[-1:], right.lstrip()[:1]
    if opener and words.QUOTES.get(opener) == closer:
        return True
    for open_ch, close_ch in words.QUOTES.items():
        if open_ch == "'":  # an apostrophe: only the adjacent form above counts
            continue
        inside = (left.count(open_ch) % 2 == 1 if open_ch == close_ch
                  else left.rfind(open_ch) > left.rfind(close_ch))
        if inside and close_ch in right[:60]:
            return True
    return False


def _is_listed(sentence: str) -> bool:
    for family in (words.JA_LEVELS, words.CUI_BANNERS):
        found = list(family.finditer(sentence))
        if len({m.group() for m in found}) < 2:
            continue
        for a, b in itertools.pairwise(found):
            between = sentence[a.end():b.start()]
            if len(between) <= 12 and words.LIST_SEPARATORS.search(between):
                return True
    return False


def _line_shape(line: str, hit: str) -> Assessment | None:
    """Banner or field, from the shape of the hit's line; None when it is a sentence."""
    at = line.find(hit) if line and len(line) <= _MAX_BANNER_LINE else -1
    if at < 0:  # running text, or a hit across lines (a wrapped legend): the sentence decides
        return None
    japanese = _is_japanese(hit)
    label = words.FIELD_LABEL.match(line)
    if (label is not None and not words.QUESTION.search(line)
            and _residual(line[label.end():].replace(hit, " ", 1)) <= _MAX_OTHER_LETTERS // 2 + 2):
        return Assessment(Placement.FIELD, "the value of a classification field")
    if japanese:
        if not (_is_bracketed(hit) or _stands_alone(line[:at], line[at + len(hit):])):
            return None
    else:  # the whole token: "CUI//S" matched, "CUI//SP-PRVCY" is what the line says
        at, end = _token(line, at, at + len(hit))
        hit = line[at:end]
    before, after = line[:at], line[at + len(hit):]
    if (_HEADER_CODE.match(before) or _is_stamp(before, after) or _is_bracketed(hit)
            or _is_bare(before, after, japanese)):
        return Assessment(Placement.BANNER, "the marking is what its line says")
    if not before.strip() and re.match(r"\s*[:：\-–—]", after):
        return Assessment(Placement.BANNER, "a legend opening with the marking")
    return None


def _token(line: str, start: int, end: int) -> tuple[int, int]:
    while end < len(line) and _TOKEN_CHAR.match(line[end]):
        end += 1
    return start, end


def _is_bare(before: str, after: str, japanese: bool) -> bool:
    """Little else on the line: at most a few words that are not banner words."""
    rest = words.BANNER_WORDS.sub(" ", before + " " + after)
    latin = sum(1 for ch in rest if ch.isascii() and ch.isalpha())
    if not japanese:
        return latin <= _MAX_OTHER_LETTERS
    cjk = len(_KANA_KANJI.findall(rest))
    return cjk <= 10 and latin <= _MAX_OTHER_LETTERS


def _stands_alone(before: str, after: str) -> bool:
    """A Japanese marking is a stamp, not a word of a sentence: no particle after it
    (社外秘の, 該非判定書を), no compound (極秘任務, 外為法改正), unless bracketed."""
    if _is_stamp(before, after):
        return True
    if words.JA_PARTICLE_AFTER.match(after.lstrip()):
        return False
    if _KANA_KANJI.match(after) and not words.JA_DOC_NOUN_AFTER.match(after):
        return False
    return not _KANA_KANJI.search(before[-1:])


def _is_stamp(before: str, after: str) -> bool:
    """Lenticular or square brackets around the hit: how Japanese stamps are typed."""
    return bool(before.rstrip()[-1:] in ("【", "［", "[", "〔", "（", "(", "＜", "<", "〈")
                and after.lstrip()[:1] in ("】", "］", "]", "〕", "）", ")", "＞", ">", "〉"))


def _is_bracketed(hit: str) -> bool:
    """The match holds its own brackets: 【秘】, （秘）."""
    return _is_stamp(hit[:1], hit[-1:])


def _residual(text: str) -> int:
    """Letters of a line that are not banner words, digits or punctuation."""
    text = words.BANNER_WORDS.sub(" ", text)
    return sum(1 for ch in text if ch.isalpha())


def _is_japanese(text: str) -> bool:
    return bool(_KANA_KANJI.search(text))
