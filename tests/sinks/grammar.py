"""Independent parsers for what the sinks emit: RFC 5424 (from its ABNF) and CEF.

Written from the specifications, not from dlpd's code, so that a test that parses
dlpd's output checks it against the grammar rather than against itself.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# RFC 5424 section 6, over bytes. PRINTUSASCII = %d33-126; SD-NAME excludes '=', SP, ']'
# and '"'; PARAM-VALUE is UTF-8 with '"', '\' and ']' escaped by '\'.
_PRINTUS = rb"[\x21-\x7e]"
_SD_NAME = rb'[\x21-\x7e](?<![= \]"])(?:[\x21-\x7e](?<![= \]"])){0,31}'
_PARAM_VALUE = rb'(?:\\.|[^"\\\]])*'
_SD_PARAM = rb"(" + _SD_NAME + rb')="(' + _PARAM_VALUE + rb')"'
_SD_ELEMENT = rb"\[" + _SD_NAME + rb"(?: " + _SD_NAME + rb'="' + _PARAM_VALUE + rb'")*\]'

SYSLOG_MSG = re.compile(
    rb"<(?P<pri>\d{1,3})>(?P<version>[1-9]\d{0,2}) "
    rb"(?P<timestamp>-|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) "
    rb"(?P<hostname>-|" + _PRINTUS + rb"{1,255}) "
    rb"(?P<app_name>-|" + _PRINTUS + rb"{1,48}) "
    rb"(?P<procid>-|" + _PRINTUS + rb"{1,128}) "
    rb"(?P<msgid>-|" + _PRINTUS + rb"{1,32}) "
    rb"(?P<sd>-|(?:" + _SD_ELEMENT + rb")+)"
    rb"(?: (?P<msg>.*))?",
    re.DOTALL,
)


class Syslog(NamedTuple):
    pri: int
    version: int
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    sd_id: str
    params: dict[str, str]
    msg: bytes


def parse_syslog(data: bytes) -> Syslog:
    """Parse one RFC 5424 message with one SD-ELEMENT; AssertionError if it does not parse."""
    m = SYSLOG_MSG.fullmatch(data)
    assert m, f"not an RFC 5424 message: {data!r}"
    assert 0 <= int(m["pri"]) <= 191
    sd = m["sd"]
    sd_id = re.match(rb"\[(" + _SD_NAME + rb")", sd)
    assert sd_id
    params = {
        name.decode("ascii"): re.sub(rb"\\([\"\\\]])", rb"\1", value).decode("utf-8")
        for name, value in re.findall(_SD_PARAM, sd)
    }
    return Syslog(int(m["pri"]), int(m["version"]), m["timestamp"].decode(),
                  m["hostname"].decode(), m["app_name"].decode(), m["procid"].decode(),
                  m["msgid"].decode(), sd_id[1].decode(), params, m["msg"] or b"")


def octet_frames(stream: bytes) -> list[bytes]:
    """Split an RFC 6587 octet-counted stream (``"<len> <msg>"...``) into messages."""
    frames = []
    while stream:
        m = re.match(rb"([1-9]\d*) ", stream)
        assert m, f"not an octet-counted frame: {stream[:40]!r}"
        end = m.end() + int(m[1])
        assert len(stream) >= end, "truncated frame"
        frames.append(stream[m.end():end])
        stream = stream[end:]
    return frames


class Cef(NamedTuple):
    header: list[str]
    extension: dict[str, str]


_CEF_UNESCAPE = {"n": "\n", "r": "\r"}


def parse_cef(line: str) -> Cef:
    """``CEF:0|...|...`` -> the 7 header fields (unescaped) and the extension pairs."""
    assert line.startswith("CEF:"), line
    header: list[str] = []
    rest = line
    for _ in range(7):
        m = re.match(r"((?:\\.|[^\\|])*)\|", rest, re.DOTALL)
        assert m, f"header field {len(header)} does not end with '|': {rest!r}"
        header.append(re.sub(r"\\(.)", r"\1", m[1]))
        rest = rest[m.end():]
    extension = {}
    raw = []
    # A key is a run of letters and digits before an unescaped '=' (values escape theirs).
    for m in re.finditer(r"([A-Za-z0-9]+)=((?:\\.|[^\\=])*?)(?= [A-Za-z0-9]+=|\Z)",
                         rest, re.DOTALL):
        assert m[1] not in extension, f"duplicate key {m[1]}"
        raw.append(m[0])
        extension[m[1]] = re.sub(r"\\(.)", lambda e: _CEF_UNESCAPE.get(e[1], e[1]), m[2],
                                 flags=re.DOTALL)
    assert " ".join(raw) == rest, f"extension does not parse: {rest!r}"
    return Cef(header, extension)


# -- what a line-oriented reader or a terminal sees -------------------------------------

# Every character str.splitlines() ends a line at: what a line-splitting reader may use.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_JOINERS = "\u200c\u200d"  # shape scripts and emoji; cannot move or reorder text


def unsafe_characters(text: str) -> list[str]:
    """Characters a terminal or a reader acts on rather than shows: controls (Cc), format
    characters (Cf: bidi overrides ...), line/paragraph separators, lone surrogates."""
    return [c for c in text if c not in _JOINERS
            and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")]


_VISIBLE_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|([nrt]))")


def unescape_visible(text: str) -> str:
    """Undo dlpd's visible escapes in text that had no backslash of its own."""
    def one(m: re.Match[str]) -> str:
        if m[4]:
            return {"n": "\n", "r": "\r", "t": "\t"}[m[4]]
        return chr(int(m[1] or m[2] or m[3], 16))
    return _VISIBLE_ESCAPE.sub(one, text)
