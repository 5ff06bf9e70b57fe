"""confirm(): validation, keyword proximity, finder mode, previews. Hand-built hits, no YARA."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.classify.confirm import MAX_CANDIDATES, MAX_PREVIEWS, _Keywords, confirm, is_keyword
from dlpd.classify.validators import REGISTRY, Validator
from dlpd.model import Confidence, Detection, RuleHit, RuleMeta, StringHit


def meta(**overrides: object) -> RuleMeta:
    fields: dict[str, object] = {"rule": "r", "category": "credit-card"}
    fields.update(overrides)
    return RuleMeta(**fields)  # type: ignore[arg-type]


def hit_at(buffer: bytes, identifier: str, text: bytes, start: int = 0) -> StringHit:
    """The StringHit YARA would report for the first ``text`` in ``buffer`` from ``start``."""
    offset = buffer.index(text, start)
    return StringHit(identifier, offset, text)


def run(rule: RuleMeta, buffer: bytes, *strings: StringHit) -> Detection | None:
    return confirm(RuleHit(rule, tuple(strings)), buffer, "member.txt", REGISTRY)


def assert_no_leak(detection: Detection, *secrets: bytes) -> None:
    text = " ".join((*detection.reasons, *detection.previews, detection.rule))
    for secret in secrets:
        assert secret.decode() not in text


def test_keyword_identifiers() -> None:
    assert is_keyword("$kw_card")
    assert is_keyword("kw")
    assert not is_keyword("$key_id")
    assert not is_keyword("$block")


# -- markers and formats ----------------------------------------------------------------------


def test_marker_rule_counts_instances() -> None:
    buffer = b"CUI//SP-PRVCY\nbody\nCUI//SP-PRVCY\n"
    rule = meta(category="cui", confidence=Confidence.HIGH)
    hits = (hit_at(buffer, "$banner", b"CUI//S"), hit_at(buffer, "$banner", b"CUI//S", 5))
    detection = run(rule, buffer, *hits)
    assert detection is not None
    assert (detection.count, detection.confidence, detection.member) == (
        2,
        Confidence.HIGH,
        "member.txt",
    )
    assert detection.category == "cui"


def test_condition_only_rule_is_one_finding() -> None:
    detection = run(meta(category="genomic-data"), b"BAM\x01....")
    assert detection is not None
    assert detection.count == 1
    assert detection.reasons == ("file structure matched",)


def test_keyword_only_rule_without_finder_is_a_marker() -> None:
    buffer = b"ITAR ITAR"
    detection = run(meta(category="export-control"), buffer, StringHit("$kw_x", 0, b"ITAR"))
    assert detection is not None
    assert detection.count == 1
    assert detection.confidence == Confidence.MEDIUM


# -- candidates with a validator --------------------------------------------------------------


def test_rejected_candidates_give_no_detection() -> None:
    buffer = b"AKIAIOSFODNN7EXAMPLE"
    rule = meta(category="credential", validator="aws")
    assert run(rule, buffer, StringHit("$key_id", 0, buffer)) is None


def test_confirmed_and_rejected_are_counted_in_reasons() -> None:
    good, bad = b"AKIAQWERTYUIOPASDF23", b"AKIAIOSFODNN7EXAMPLE"
    buffer = good + b" " + bad
    rule = meta(category="credential", validator="aws")
    detection = run(rule, buffer, hit_at(buffer, "$key_id", good), hit_at(buffer, "$key_id", bad))
    assert detection is not None
    assert detection.count == 1
    assert "validator aws: 1 confirmed, 1 rejected" in detection.reasons
    assert detection.previews == ("AKIA**************23",)
    assert_no_leak(detection, good, bad)


def test_no_opinion_keeps_the_candidate() -> None:
    rule = meta(category="cui", validator="opinionless")
    validators = {
        "opinionless": Validator("opinionless", validate=lambda v: None, redact=lambda v: "#")
    }
    detection = confirm(RuleHit(rule, (StringHit("$m", 3, b"abc"),)), b"xxxabc", None, validators)
    assert detection is not None
    assert detection.reasons == ("validator opinionless: 0 confirmed, 0 rejected, 1 unverified",)
    assert detection.previews == ("#",)


def test_unknown_validator_is_a_clear_error() -> None:
    rule = meta(validator="nope")
    with pytest.raises(KeyError, match="rule r names unknown validator 'nope'"):
        run(rule, b"x", StringHit("$a", 0, b"x"))


def test_without_a_validator_previews_are_generic() -> None:
    buffer = b"--- EXPORT CONTROLLED ---"
    detection = run(
        meta(category="export-control"), buffer, hit_at(buffer, "$m", b"EXPORT CONTROLLED")
    )
    assert detection is not None
    assert detection.previews == ("EX********ED",)


# -- keywords and proximity -------------------------------------------------------------------


def _aws_rule(**overrides: object) -> RuleMeta:
    return meta(category="credential", validator="aws", **overrides)


KEY = b"AKIAQWERTYUIOPASDF23"


def test_keyword_near_raises_confidence() -> None:
    buffer = b"aws_secret_access_key = x\naws_access_key_id = " + KEY
    detection = run(
        _aws_rule(),
        buffer,
        hit_at(buffer, "$kw_secret", b"aws_secret_access_key"),
        hit_at(buffer, "$key_id", KEY),
    )
    assert detection is not None
    assert detection.confidence == Confidence.HIGH
    assert "keyword within 300 bytes" in detection.reasons


def test_keyword_after_the_candidate_counts_too() -> None:
    buffer = KEY + b" is paired with aws_secret_access_key"
    detection = run(
        _aws_rule(),
        buffer,
        hit_at(buffer, "$key_id", KEY),
        hit_at(buffer, "$kw_s", b"aws_secret_access_key"),
    )
    assert detection is not None
    assert detection.confidence == Confidence.HIGH


def test_far_keyword_does_not_raise() -> None:
    buffer = b"aws_secret_access_key" + b"." * 400 + KEY
    detection = run(
        _aws_rule(),
        buffer,
        hit_at(buffer, "$kw_secret", b"aws_secret_access_key"),
        hit_at(buffer, "$key_id", KEY),
    )
    assert detection is not None
    assert detection.confidence == Confidence.MEDIUM


def test_proximity_is_the_gap_in_bytes() -> None:
    keyword = b"aws_secret_access_key"
    for gap, raised in ((300, True), (301, False)):
        buffer = keyword + b"." * gap + KEY
        detection = run(
            _aws_rule(), buffer, hit_at(buffer, "$kw", keyword), hit_at(buffer, "$key", KEY)
        )
        assert detection is not None
        assert (detection.confidence == Confidence.HIGH) is raised, gap


def test_require_keyword_drops_far_candidates() -> None:
    buffer = b"aws_secret_access_key" + b"." * 400 + KEY
    rule = _aws_rule(require_keyword=True)
    detection = run(
        rule, buffer, hit_at(buffer, "$kw", b"aws_secret_access_key"), hit_at(buffer, "$key", KEY)
    )
    assert detection is None


@given(
    st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 40)), min_size=1, max_size=30),
    st.integers(0, 2000),
    st.integers(1, 30),
    st.integers(0, 500),
)
def test_is_near_matches_brute_force(
    keywords: list[tuple[int, int]], start: int, length: int, proximity: int
) -> None:
    hits = [StringHit("$kw", offset, b"k" * size) for offset, size in keywords]
    end = start + length
    expected = any(
        max(0, offset - end, start - (offset + size)) <= proximity for offset, size in keywords
    )
    assert _Keywords.of(hits).is_near(start, end, proximity) is expected


# -- finder mode ------------------------------------------------------------------------------


def _card_rule(**overrides: object) -> RuleMeta:
    return meta(validator="luhn", **overrides)


def test_finder_supplies_candidates_for_keyword_only_rules() -> None:
    buffer = b"card number: 4111 1111 1111 1111\nref 4111111111111112\nother 5555555555554444\n"
    detection = run(_card_rule(), buffer, hit_at(buffer, "$kw_card", b"card"))
    assert detection is not None
    assert detection.count == 2
    assert detection.confidence == Confidence.HIGH
    assert detection.previews == ("4111 **** **** 1111", "5555********4444")
    assert "validator luhn: 2 confirmed, 1 rejected" in detection.reasons
    assert_no_leak(detection, b"4111 1111 1111 1111", b"5555555555554444")


def test_finder_finds_nothing_means_no_detection() -> None:
    buffer = b"the card game had 52 cards"
    assert run(_card_rule(), buffer, hit_at(buffer, "$kw_card", b"card")) is None


def test_finder_candidates_far_from_keywords_keep_base_confidence() -> None:
    buffer = b"card\n" + b"x" * 1000 + b"\n4111111111111111\n"
    detection = run(_card_rule(), buffer, hit_at(buffer, "$kw_card", b"card"))
    assert detection is not None
    assert detection.confidence == Confidence.MEDIUM


def test_finder_with_require_keyword_looks_only_near_keywords() -> None:
    number = b"1234 5678 9018"  # a valid My Number
    rule = meta(category="jp-my-number", validator="mynumber", require_keyword=True)
    keyword = "個人番号".encode()
    near = keyword + b": " + number
    assert run(rule, near, hit_at(near, "$kw", keyword)) is not None
    far = keyword + b"\n" + b"x" * 2000 + number
    assert run(rule, far, hit_at(far, "$kw", keyword)) is None


def test_finder_window_does_not_cut_a_number_at_its_edge() -> None:
    # The number starts 290 bytes after the keyword and ends past the 300-byte window.
    number = b"1234 5678 9018"
    keyword = "マイナンバー".encode()
    buffer = keyword + b"." * 290 + number + b"."
    rule = meta(category="jp-my-number", validator="mynumber", require_keyword=True)
    detection = run(rule, buffer, hit_at(buffer, "$kw", keyword))
    assert detection is not None
    assert detection.count == 1


def test_candidates_are_capped() -> None:
    number = b"4111111111111111\n"
    buffer = b"card\n" + number * (MAX_CANDIDATES + 50)
    detection = run(_card_rule(), buffer, hit_at(buffer, "$kw", b"card"))
    assert detection is not None
    assert detection.count == MAX_CANDIDATES
    assert f"candidates capped at {MAX_CANDIDATES}" in detection.reasons


def test_previews_are_few_and_distinct() -> None:
    numbers = [b"4111111111111111", b"4111111111111111", b"5555555555554444", b"4012888888881881",
               b"378282246310005"]  # fmt: skip
    buffer = b"card " + b" ".join(numbers)
    detection = run(_card_rule(), buffer, hit_at(buffer, "$kw", b"card"))
    assert detection is not None
    assert len(detection.previews) == MAX_PREVIEWS
    assert len(set(detection.previews)) == MAX_PREVIEWS
    assert detection.count == 5


def test_overlapping_candidates_count_once() -> None:
    buffer = b"url = mysql+pymysql://root:Zq9xW2vL@db\n"
    whole = hit_at(buffer, "$url", b"mysql+pymysql://root:Zq9xW2vL@")
    inner = hit_at(buffer, "$url", b"pymysql://root:Zq9xW2vL@")
    detection = run(meta(category="credential", validator="password"), buffer, whole, inner)
    assert detection is not None
    assert detection.count == 1
    assert detection.previews == ("mysql+pymysql://ro***:********@",)


def test_repeated_values_are_validated_once() -> None:
    calls: list[str] = []

    def validate(value: str) -> bool:
        calls.append(value)
        return True

    validators = {"v": Validator("v", validate=validate, redact=lambda v: "*")}
    strings = tuple(StringHit("$c", i * 4, b"abc") for i in range(50))
    detection = confirm(RuleHit(meta(validator="v"), strings), b"abc " * 50, None, validators)
    assert detection is not None
    assert detection.count == 50
    assert calls == ["abc"]


def test_undecodable_bytes_do_not_raise() -> None:
    buffer = b"\xff\xfe card 4111111111111111 \xc3"
    detection = run(_card_rule(), buffer, hit_at(buffer, "$kw", b"card"))
    assert detection is not None
