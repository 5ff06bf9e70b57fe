"""Text prints: normalisation, exact winnowing, and prints that survive a re-render."""

from __future__ import annotations

import io
import random
import textwrap

import pytest
from corpus_formats import pdf_bytes
from hypothesis import given
from hypothesis import strategies as st

from dlpd.classify.extract import extract
from dlpd.classify.limits import Budget, Limits
from dlpd.fingerprint import text as fp
from dlpd.fingerprint.text import normalize, text_prints
from fingerprint.text_corpus import module_text

IGNORABLE = st.sampled_from([" ", "\n", "\t", "\u00ad", "\u200b", "\u200c", "\u200d",
                             "\u2060", "\ufeff", "\u3000", "\r\n"])


def test_normalize_keeps_letters_marks_numbers_only() -> None:
    assert normalize("Hello, World! 42") == "helloworld42"
    assert normalize("ＡＢＣ　１２３") == "abc123"  # noqa: RUF001 - full-width on purpose
    assert normalize("Straße ﬁle") == "strassefile"
    assert normalize("docu\u00adment zero\u200bwidth") == "documentzerowidth"
    assert normalize("e\u200b\u0301") == normalize("é")  # split by a zero-width space
    assert normalize("社外秘 の 資料") == "社外秘の資料"
    assert normalize("हिन्दी") == "हिन्दी"  # marks (virama, vowel signs) stay


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.lists(st.tuples(st.text(min_size=1), IGNORABLE)), st.text())
def test_normalize_ignores_whitespace_zero_width_and_soft_hyphens(
        parts: list[tuple[str, str]], tail: str) -> None:
    plain = "".join(p for p, _ in parts) + tail
    spaced = "".join(p + gap for p, gap in parts) + tail
    assert normalize(spaced) == normalize(plain)


def _brute_minima(crcs: list[int], w: int) -> set[int]:
    if len(crcs) <= w:
        return {min(range(len(crcs)), key=lambda i: (crcs[i], i))} if crcs else set()
    return {min(range(j, j + w), key=lambda i: (crcs[i], i)) for j in range(len(crcs) - w + 1)}


@given(st.lists(st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 15)), max_size=300),
       st.integers(1, 40))
def test_winnowing_selects_exactly_the_window_minima(crcs: list[int], w: int) -> None:
    # Small values and ties, so the fall-back for windows without candidates runs too.
    assert fp._winnow(crcs, w) == _brute_minima(crcs, w)


def test_prints_are_integers_below_2_63_and_local() -> None:
    text = module_text("json")
    prints = text_prints(text).prints
    assert prints and all(0 <= p < 2**63 for p in prints)
    # A passage's prints do not depend on what surrounds it.
    middle = text[len(text) // 3: 2 * len(text) // 3]
    inner = text_prints(middle).prints
    assert len(inner & prints) >= 0.9 * len(inner)
    assert text_prints("short").prints == frozenset()


def _reflow(text: str, width: int, rng: random.Random) -> str:
    """Another rendering of the same words: new line breaks, words hyphenated at the line
    end (a hard hyphen), soft hyphens inside words, full-width letters, odd spacing."""
    out = []
    for line in textwrap.wrap(" ".join(text.split()), width):
        words = line.split(" ")
        for i, word in enumerate(words):
            if len(word) > 6 and rng.random() < 0.1:
                words[i] = word[:3] + "\u00ad" + word[3:]
            elif word.isascii() and word.isalpha() and rng.random() < 0.02:
                words[i] = "".join(chr(ord(c) + 0xFEE0) for c in word)
        spaced = (" " * rng.randint(1, 3)).join(words)
        if rng.random() < 0.3 and len(words[-1]) > 5:  # hyphenate into the next line
            spaced = spaced[:-3] + "-\n" + spaced[-3:]
        out.append(spaced)
    return "\n".join(out)


@pytest.mark.parametrize("module", ["argparse", "decimal", "email.message", "socket"])
def test_reflowed_text_keeps_its_prints(module: str) -> None:
    text = module_text(module)
    reflowed = _reflow(text, 61, random.Random(module))
    before, after = text_prints(text).prints, text_prints(reflowed).prints
    kept = len(before & after) / len(before)
    assert kept >= 0.95, f"{module}: kept {kept:.3f} of {len(before)} prints"


def _pdf(text: str, width: int) -> bytes:
    """One PDF page of ``text`` set in lines of ``width`` characters, hyphenated."""
    lines = textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)
    ops = [b"BT /F1 7 Tf 9 TL 20 780 Td"]
    for line in lines:
        escaped = line.encode("cp1252", "replace").replace(b"\\", b"\\\\")
        escaped = escaped.replace(b"(", b"\\(").replace(b")", b"\\)")
        ops.append(b"(" + escaped + b") Tj T*")
    ops.append(b"ET")
    return pdf_bytes(b"\n".join(ops))


def _pdf_text(data: bytes) -> str:
    members = list(extract("pdf", io.BytesIO(data), Budget(Limits())))
    return members[0].data.decode()


def test_a_re_rendered_pdf_keeps_its_prints() -> None:
    text = module_text("logging")[:12_000].encode("cp1252", "replace").decode("cp1252")
    first, second = _pdf_text(_pdf(text, 95)), _pdf_text(_pdf(text, 57))
    assert first != second
    before, after = text_prints(first).prints, text_prints(second).prints
    kept = len(before & after) / len(before)
    assert kept >= 0.95, f"kept {kept:.3f} of {len(before)} prints"
