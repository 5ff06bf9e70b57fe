"""Independent parsers for what the sinks emit: RFC 5424 (from its ABNF) and CEF.

Written from the specifications, not from dlpd's code, so that a test that parses
dlpd's output checks it against the grammar rather than against itself.
"""

from __future__ import annotations

import re
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
