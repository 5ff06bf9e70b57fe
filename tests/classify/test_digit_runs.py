"""DigitRuns: the card finder run only on the runs of digits, spaces and hyphens that hold
a card's shape finds what it finds over the whole buffer, and skips number-heavy text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dlpd.classify.confirm import confirm
from dlpd.classify.validators import REGISTRY
from dlpd.classify.validators.luhn import FINDER, RUNS
from dlpd.model import RuleHit, RuleMeta, StringHit


def _whole(buffer: bytes, lo: int, hi: int) -> list[tuple[int, bytes]]:
    return [(m.start(), m.group()) for m in FINDER.finditer(buffer, lo, hi)]


def _in_spans(buffer: bytes, lo: int, hi: int) -> list[tuple[int, bytes]]:
    return [(m.start(), m.group())
            for start, end in RUNS.spans(buffer, lo, hi)
            for m in FINDER.finditer(buffer, start, end)]


PIECES = [
    b"4111", b"1111", b"111", b"11111", b"411111", b"5555555555554444", b"378282246310005",
    b"4111111111111111", b"0", b"7", b" ", b"-", b"  ", b"a", b"Z", b"x1", b"\n", b".", b",",
    b"card ", b"\t", b"\xe3\x80\x80",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.integers(0, 30), st.integers(0, 30))
def test_the_finder_in_spans_finds_what_it_finds_everywhere(
    parts: list[bytes], cut_lo: int, cut_hi: int
) -> None:
    buffer = b"".join(parts)
    lo = min(cut_lo, len(buffer))
    hi = max(lo, len(buffer) - cut_hi)
    assert _in_spans(buffer, lo, hi) == _whole(buffer, lo, hi)


def test_cards_in_text_are_found_in_their_runs() -> None:
    buffer = (b"card 4111 1111 1111 1111, Amex 3782-822463-10005; 5555555555554444\n"
              b"numbers 12 345 6789 0 -1 2024-01-02 4111 1111 1111 1111 2024 x4111111111111111")
    assert _in_spans(buffer, 0, len(buffer)) == _whole(buffer, 0, len(buffer))
    assert [m for _, m in _in_spans(buffer, 0, len(buffer))] == [
        b"4111 1111 1111 1111", b"3782-822463-10005", b"5555555555554444",
        b"4111 1111 1111 1111"]


def test_number_heavy_text_without_a_card_shape_has_no_span() -> None:
    postscript = b"".join(b"%d %d moveto 12 -3 rlineto 0.5 setgray\n" % (i, i * 7)
                          for i in range(20_000))
    assert list(RUNS.spans(postscript, 0, len(postscript))) == []


def test_long_buffers_cross_the_slices() -> None:
    filler = b"ab 12 cd " * 150_000  # over a megabyte: more than one slice
    buffer = filler + b"4111 1111 1111 1111 " + filler + b"4" + b"1" * 15 + b"\n"
    assert [m for _, m in _in_spans(buffer, 0, len(buffer))] == [
        b"4111 1111 1111 1111", b"4111111111111111"]


def test_confirm_finds_the_cards_through_the_spans() -> None:
    buffer = b"x" * 5000 + b" credit card 4111 1111 1111 1111 ok\n"
    rule = RuleMeta(rule="credit_card_number", category="credit-card", validator="luhn")
    at = buffer.index(b"credit card")
    found = confirm(RuleHit(rule, (StringHit("$kw_credit_card", at, b"credit card"),)),
                    buffer, None, REGISTRY)
    assert found is not None
    assert found.count == 1
    assert found.previews == ("4111 **** **** 1111",)
