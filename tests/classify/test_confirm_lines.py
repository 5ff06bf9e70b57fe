"""Candidates read to the end of their line (`$..._eolN`): the shipped rules whose YARA
strings end at the value's first byte find what the same strings ending in
`[^\\r\\n]{1,N}` find, through real YARA and confirm()."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yara
from hypothesis import given, settings
from hypothesis import strategies as st

from dlpd.classify.confirm import confirm
from dlpd.classify.signatures import rule_meta
from dlpd.classify.validators import REGISTRY
from dlpd.model import Detection, RuleHit, StringHit

SIGNATURES = Path(__file__).resolve().parents[2] / "dlpd" / "data" / "signatures"
FILES = ("credentials.yar", "credentials_files.yar")
# `$name_eolN = /...[^\r\n]/ flags`: the string's regex ends with one value byte.
_EOL_STRING = re.compile(r"(\$\w+_eol(\d+)\s*=\s*/.*)\[\^\\r\\n\]/")


def _repeat_form(source: str) -> str:
    """The rules as they would be written without `_eolN`: each such regex ending in
    `[^\\r\\n]{1,N}`, and renamed `_repN` (conditions too), so that confirm takes its
    match as whole instead of reading on to the end of the line a second time."""
    rewritten = _EOL_STRING.sub(lambda m: m.group(1) + "[^\\r\\n]{1," + m.group(2) + "}/",
                                source)
    return re.sub(r"_eol(\d+)\b", r"_rep\1", rewritten)


@cache
def _rules() -> tuple[yara.Rules, yara.Rules]:
    sources = {name: (SIGNATURES / name).read_text() for name in FILES}
    eol = yara.compile(sources=sources)
    repeat = yara.compile(sources={n: _repeat_form(s) for n, s in sources.items()})
    return eol, repeat


def _detect(rules: yara.Rules, data: bytes) -> dict[str, Detection]:
    found = {}
    for match in rules.match(data=data):
        meta = rule_meta(match.rule, "test", dict(match.meta))
        strings = tuple(
            StringHit(s.identifier, i.offset, i.matched_data)
            for s in match.strings
            for i in s.instances
        )
        detection = confirm(RuleHit(meta, strings), data, None, REGISTRY)
        if detection is not None:
            found[match.rule] = detection
    return found


def _same(data: bytes) -> dict[str, Detection]:
    eol, repeat = _rules()
    got = _detect(eol, data)
    assert got == _detect(repeat, data)
    return got


def test_the_rewrite_covers_every_line_string() -> None:
    for name in FILES:
        source = (SIGNATURES / name).read_text()
        names = re.findall(r"\$\w+_eol\d+\s*=", source)
        assert names, name
        assert len(_EOL_STRING.findall(source)) == len(names), name
        assert _EOL_STRING.search(_repeat_form(source)) is None, name


def test_a_password_is_read_to_the_end_of_its_line() -> None:
    found = _same(b'db:\n  password = "Zq7#vLx92!mK"  # prod\n')
    assert found["credential_password"].previews == ("password=********",)
    assert "1 confirmed" in found["credential_password"].reasons[0]


LINES = [
    b"password: s3cr3t-Value_91\n",
    # A value longer than the tail, ending in an operator (found by hypothesis: the
    # reference form read such a line twice over).
    b"\npassword = " + b"x" * 180 + b":=",
    b"PASS: gas/i386/foo\nPASS: gas/i386/bar\n",
    b"Passed: 12 tests\n",
    b"pass:=\n",
    b"pass:=Tr0ub4dor&3\r\n",
    b"password =>  'Kx9!2mQz'\n",
    b"password:" + b"x" * 400 + b"\n",
    b"DB_PASSWORD=" + b"Kx9!2mQz" * 30 + b"\n",
    b"dbPassword = \"" + b"y" * 158 + b"\"\n",
    b"userPwd=Kx9!2mQz   \n",
    b"PWD=/home/user\n",
    b"password = postgres://app:Kx9!2mQz@db/x\n",
    b"[client]\nuser = app\npassword =      Kx9!2mQzR7\n",
    b"[client]\npassword=" + b"K" * 300 + b"\n",
    b"[s3]\ntype = s3\nsecret_access_key = " + b"A1b2" * 10 + b"\n",
    b"[gd]\ntype = drive\ntoken = {\"access_token\":\"" + b"z9" * 700 + b"\"}\n",
    (b"apiVersion: v1\nkind: Config\ncurrent-context: x\nusers:\n- name: u\n  user:\n"
     b"    token: " + b"eyJhbGciOi" * 80 + b"\n"),
]


def test_lines_long_short_and_empty_find_the_same() -> None:
    for line in LINES:
        _same(line)
    _same(b"\n".join(LINES))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    b"password", b"PASS", b"pwd", b"Passwd", b"_pass", b"dbPassword", b"\n  token", b"\n",
    b"\r\n", b"=", b":", b":=", b"=>", b" ", b"\t", b'"', b"'", b"Kx9!2mQz", b"x" * 90,
    b"[client]\n", b"kind: Config\n", b"]\ntype = s3\n", b"\npassword = ", b"\nkey = ",
]), max_size=30))
def test_any_mix_of_keys_operators_and_values_finds_the_same(parts: list[bytes]) -> None:
    _same(b"".join(parts))
