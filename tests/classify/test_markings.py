"""Markings told apart from mentions (issue 10): the placement of a hit, truth tables.

Each case is a small document; the hit is the first occurrence of ``needle``. The real
rules are exercised end to end in test_signatures_rules.py (confidences) and the precision
corpus (tests/test_markings_precision.py); here the placement logic itself is pinned.
"""

# Japanese text is written with full-width punctuation: the cases hold it on purpose.
# ruff: noqa: RUF001
from __future__ import annotations

import pytest

from dlpd.classify.confirm import confirm
from dlpd.classify.markings import Placement, assess
from dlpd.classify.validators import REGISTRY
from dlpd.model import Confidence, RuleHit, RuleMeta, StringHit


def place(text: str, needle: str, *, stamp: bool = True) -> Placement:
    data = text.encode()
    start = data.index(needle.encode())
    return assess(data, start, start + len(needle.encode()), stamp=stamp).placement


@pytest.mark.parametrize(
    ("text", "needle", "expected"),
    [
        # banners, headers, footers, properties
        ("EXPORT CONTROLLED - ITAR\nDesign review of the baffle\n", "EXPORT CONTROLLED",
         Placement.BANNER),
        ("Company Proprietary – EXPORT CONTROLLED\n", "EXPORT CONTROLLED", Placement.BANNER),
        ("CUI//SP-PRVCY\nbody\n", "CUI//S", Placement.BANNER),
        ("&CCUI//SP-PRVCY sheet header", "CUI//S", Placement.BANNER),
        ("社外秘\n研究計画\n", "社外秘", Placement.BANNER),
        ("【社外秘】研究計画書", "【社外秘】", Placement.BANNER),
        ("株式会社テスト　社外秘　1/3\n", "社外秘", Placement.BANNER),
        ("部外秘資料\n", "部外秘", Placement.BANNER),
        ("EXPORT CONTROLLED: contains technical data.", "EXPORT CONTROLLED", Placement.BANNER),
        # fields
        ("Classification: 社外秘\n", "社外秘", Placement.FIELD),
        ("Export classification: ECCN 3A001.a.5.a\n", "ECCN 3A001", Placement.FIELD),
        ("秘密区分：極秘\n", "極秘", Placement.FIELD),
        ("ECCN\t3A001.a.1\n", "ECCN\t3A001", Placement.FIELD),
        # statements about this material
        ("This document contains ITAR-controlled technical data.", "ITAR-controlled",
         Placement.STATEMENT),
        ("WARNING - This document contains technical data whose export is restricted by the\n"
         "Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
         "Traffic in Arms Regulations (ITAR), 22 CFR 120-130.\n", "Arms Export Control Act",
         Placement.STATEMENT),
        ("本資料は外為法に基づくリスト規制に該当する技術を含みます。", "リスト規制に該当",
         Placement.STATEMENT),
        ("本資料は秘密保持契約に基づき開示するものです。", "秘密保持契約に基づき",
         Placement.STATEMENT),
        ("These commodities are controlled under the Export Administration Regulations (EAR).\n"
         "Diversion contrary to U.S. law is prohibited.\n", "Diversion contrary",
         Placement.STATEMENT),
        # negations and classifications that mean "not controlled"
        ("This software is not subject to the EAR.", "subject to the EAR", Placement.NEGATED),
        ("Export classification: EAR99\n", "EAR99", Placement.NEGATED),
        ("ECCN: 5A992.c (mass market)\n", "ECCN: 5A992", Placement.NEGATED),
        ("本製品はリスト規制非該当です。", "リスト規制", Placement.NEGATED),
        ("NOT EXPORT CONTROLLED\n", "EXPORT CONTROLLED", Placement.NEGATED),
        ("The form of this distribution makes it eligible for export under the License "
         "Exception ENC (see the BIS Export Administration Regulations, Section 740.13).",
         "Export Administration Regulations", Placement.NEGATED),
        # examples, lists, prose
        ('Mark each page "CUI//SP-PRVCY" at the top and bottom.', "CUI//S", Placement.QUOTED),
        ("表紙に「社外秘」と表示してください。", "社外秘", Placement.QUOTED),
        ("情報は極秘、秘、社外秘の3区分とする。", "極秘", Placement.LISTED),
        ("Seminar: EXPORT CONTROLLED Information Handling for new staff\n",
         "EXPORT CONTROLLED", Placement.PROSE),
        ("彼は極秘任務に就いた。", "極秘", Placement.PROSE),
        ("・該非判定書の書き方\n", "該非判定書", Placement.PROSE),
        ("This course surveys the history of the ITAR and the EAR since 1976.", "ITAR",
         Placement.PROSE),
    ],
)
def test_placement(text: str, needle: str, expected: Placement) -> None:
    assert place(text, needle) is expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Week 3: ITAR\n", "ITAR"),
        ("International Traffic in Arms Regulations\n", "International Traffic in Arms"),
        ("外為法\n", "外為法"),
    ],
)
def test_a_reference_alone_on_its_line_is_a_heading(text: str, needle: str) -> None:
    """A syllabus heading is not a banner; the same words as a stamp would be."""
    assert place(text, needle, stamp=False) is Placement.PROSE
    assert place(text, needle, stamp=True) is Placement.BANNER


def test_one_banner_is_enough_whatever_the_body_discusses() -> None:
    body = "EXPORT CONTROLLED\n" + "The course discussed EXPORT CONTROLLED items at length. " * 3
    data = body.encode()
    hits = []
    at = data.find(b"EXPORT CONTROLLED")
    while at >= 0:
        hits.append(StringHit("$m", at, b"EXPORT CONTROLLED"))
        at = data.find(b"EXPORT CONTROLLED", at + 1)
    meta = RuleMeta("r", "export-control", Confidence.HIGH, marking="stamp")
    found = confirm(RuleHit(meta, tuple(reversed(hits))), data, None, REGISTRY)
    assert found is not None
    assert found.confidence is Confidence.HIGH
    assert any(r.startswith("banner") for r in found.reasons)


def test_thousands_of_mentions_cost_a_bounded_number_of_assessments() -> None:
    sentence = b"The seminar covered EXPORT CONTROLLED items and much more besides. "
    data = sentence * 20_000
    step = len(sentence)
    hits = tuple(StringHit("$m", i * step + 20, b"EXPORT CONTROLLED") for i in range(20_000))
    meta = RuleMeta("r", "export-control", Confidence.HIGH, marking="stamp")
    found = confirm(RuleHit(meta, hits), data, None, REGISTRY)
    assert found is not None
    assert found.confidence is Confidence.LOW
    assert found.count == 10_000  # MAX_CANDIDATES


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[labels.export-controlled]\nseverity = \"high\"\n", "export-controlled"),
        ("dlpd label set /data/k17 --label export-controlled --note \"EAR 9E003\"\n",
         "export-controlled"),
        ("if is_itar_controlled(item):\n", "itar_controlled"),
    ],
)
def test_a_name_is_no_marking(text: str, needle: str) -> None:
    """Config keys, options' values and identifiers hold marking words as names."""
    assert place(text, needle) is Placement.QUOTED


def test_markings_in_code_spans_are_examples() -> None:
    """Documentation about markings quotes them in backticks (this project's README)."""
    text = ("- **field**: the value of a classification field (`秘密区分：極秘`,\n"
            "  `Export classification: ECCN 3A001`);\n")
    assert place(text, "ECCN 3A001") is Placement.QUOTED
    assert place(text, "極秘") is Placement.QUOTED


def test_a_scheme_of_kimitsusei_levels_is_a_list() -> None:
    text = "情報は機密性１、機密性２、機密性３に区分する。"
    assert place(text, "機密性２") is Placement.LISTED
