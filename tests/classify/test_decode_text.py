"""decode_text: which files need decoding before matching, and into what."""

from __future__ import annotations

import codecs
import os
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlpd.classify.extract import decode_text

JAPANESE = (
    "社外秘\n"
    "本書には個人番号（マイナンバー）が含まれます。取り扱いに注意してください。\n"  # noqa: RUF001 -- real Japanese punctuation
    "外為法に基づく該非判定の結果、本技術は規制対象に該当します。\n"
    "氏名,個人番号,住所\n"
    "山田太郎,123456789018,東京都千代田区霞が関1-1-1\n"
)
KEYWORDS = ("個人番号", "マイナンバー", "社外秘", "外為法", "該非判定")


@pytest.mark.parametrize(
    ("codec", "expected"),
    [
        ("shift_jis", "cp932"),
        ("cp932", "cp932"),
        ("euc_jp", "euc-jp"),
        ("iso2022_jp", "iso-2022-jp"),
    ],
)
def test_japanese_legacy_encodings_are_decoded(codec: str, expected: str) -> None:
    result = decode_text(JAPANESE.encode(codec))
    assert result is not None
    text, encoding = result
    assert encoding == expected
    assert text == JAPANESE
    assert all(word in text for word in KEYWORDS)


@pytest.mark.parametrize("word", KEYWORDS)
@pytest.mark.parametrize("codec", ["cp932", "euc_jp"])
def test_a_lone_keyword_is_decoded_in_the_right_encoding(word: str, codec: str) -> None:
    result = decode_text(f"区分: {word}\n".encode(codec))
    assert result is not None and word in result[0]


@pytest.mark.parametrize(
    ("prefix", "codec", "expected"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
        (b"", "utf-16-le", "utf-16-le"),  # BOM-less, as some Windows tools write
    ],
)
def test_utf16_and_utf32(prefix: bytes, codec: str, expected: str) -> None:
    content = "SSN 078-05-1120\r\n" + JAPANESE
    result = decode_text(prefix + content.encode(codec))
    assert result == (content, expected)


def test_odd_length_utf16_does_not_fail() -> None:
    data = codecs.BOM_UTF16_LE + "社外秘 secret".encode("utf-16-le") + b"\x00"
    assert decode_text(data) == ("社外秘 secret", "utf-16-le")


@pytest.mark.parametrize(
    "data",
    [
        b"plain ascii, card 4111 1111 1111 1111\n" * 100,
        JAPANESE.encode("utf-8"),
        codecs.BOM_UTF8 + JAPANESE.encode("utf-8"),
        b"",
    ],
)
def test_ascii_and_utf8_need_no_decoding(data: bytes) -> None:
    assert decode_text(data) is None


def test_utf8_cut_inside_a_character_is_still_utf8() -> None:
    data = JAPANESE.encode("utf-8")
    assert decode_text(data[:-1]) is None
    assert decode_text(data[: data.index("社".encode()) + 1]) is None


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(100_000),
        bytes(range(256)) * 100,
        b"\x7fELF\x02\x01\x01" + bytes(100) + b"text" * 100,
        b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(5000),
    ],
)
def test_binary_is_not_text(data: bytes) -> None:
    assert decode_text(data) is None


def test_latin1_text_is_decoded_as_cp1252() -> None:
    text = "Société Générale, données personnelles: numéro de sécurité sociale.\n" * 20
    assert decode_text(text.encode("latin-1")) == (text, "cp1252")
    quoted = "\u201cVertraulich\u201d \u2013 Geschäftsgeheimnis für Mitarbeiter.\n"
    assert decode_text(quoted.encode("cp1252")) == (quoted, "cp1252")


def test_cp1252_undefined_bytes_fall_back_to_latin1() -> None:
    data = "café ".encode("latin-1") + b"\x81\x8d" + b" fin\n"
    result = decode_text(data)
    assert result is not None and result[1] == "cp1252" and "café" in result[0]


def test_large_files_are_fast() -> None:
    ascii_data = b"sample,4111111111111111,078-05-1120\n" * 800_000  # ~30 MB
    utf8_data = JAPANESE.encode("utf-8") * 60_000  # ~15 MB
    sjis_data = JAPANESE.encode("cp932") * 100_000  # ~17 MB
    binary = os.urandom(30_000_000)
    for data, expected in ((ascii_data, None), (utf8_data, None), (binary, None)):
        started = time.perf_counter()
        assert decode_text(data) is expected
        assert time.perf_counter() - started < 0.5
    started = time.perf_counter()
    result = decode_text(sjis_data)
    assert result is not None and result[1] == "cp932"
    assert time.perf_counter() - started < 1.5


japanese_text = st.text(
    alphabet=st.sampled_from(
        list("個人番号マイナンバー社外秘外為法該非判定取扱注意のはをにが、。")
        + list("0123456789 ,\n")
    ),
    min_size=1,
    max_size=200,
).filter(lambda s: any(ord(c) > 127 for c in s))


@given(japanese_text, st.sampled_from(["cp932", "euc_jp", "utf-16"]))
@settings(max_examples=200, deadline=None)
def test_japanese_round_trips(text: str, codec: str) -> None:
    data = text.encode(codec)
    if codec != "utf-16" and _is_utf8(data):
        return  # a few EUC-JP kanji are valid UTF-8 too: those stay raw bytes
    result = decode_text(data)
    assert result is not None and result[0] == text


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_any_bytes_decode_or_return_none(data: bytes) -> None:
    result = decode_text(data)
    assert result is None or isinstance(result[0], str)


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7])
def test_a_chunk_of_a_big_file_may_start_inside_a_character(cut: int) -> None:
    """The classifier calls decode_text per chunk of a big file."""
    assert decode_text((JAPANESE.encode("utf-8") * 30)[cut:]) is None
    for codec, expected in (("cp932", "cp932"), ("euc_jp", "euc-jp")):
        data = JAPANESE.encode(codec)[cut:]
        result = decode_text(data)
        assert result is not None and result[1] == expected, (codec, cut)
        assert "外為法に基づく該非判定" in result[0]
