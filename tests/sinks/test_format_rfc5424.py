"""RFC 5424 messages: the grammar, PRI, escaping, field limits, and one line always."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.sinks.formats import FACILITIES, one_line, rfc5424, severity_code

from .conftest import make_alert
from .grammar import LINE_BREAKS, parse_syslog, unsafe_characters

BOM = b"\xef\xbb\xbf"


def render(alert: dict[str, Any] | None = None, **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "alert": alert or make_alert().to_json(),
        "kind": "alert.created",
        "msg_id": "msg_dlpd_17_created_1",
        "facility": "auth",
        "app_name": "dlpd",
        "hostname": "ws-17.lab.example",
        "procid": 4242,
        "now": 1_714_564_800.25,
    }
    return rfc5424(**{**args, **kw})


def test_parses_by_the_abnf_with_every_field() -> None:
    msg = parse_syslog(render())
    assert msg.version == 1
    assert msg.pri == 4 * 8 + 3  # auth, err (high)
    assert msg.timestamp == "2024-05-01T12:00:00.250Z"
    assert (msg.hostname, msg.app_name, msg.procid, msg.msgid) == (
        "ws-17.lab.example", "dlpd", "4242", "alert.created")
    assert msg.sd_id == "dlpd@32473"
    assert msg.params == {
        "id": "17", "severity": "high", "label": "export-controlled",
        "path": "/home/alice/cad/x.dwg",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "status": "open", "event": "msg_dlpd_17_created_1",
    }
    assert msg.msg.startswith(BOM)
    assert msg.msg[3:].decode() == ("alert 17 high export-controlled /home/alice/cad/x.dwg: "
                                    "export-controlled file outside approved locations "
                                    "(/srv/itar)")


@pytest.mark.parametrize(("severity", "code"),
                         [("critical", 2), ("high", 3), ("medium", 4), ("low", 5)])
def test_severity_codes(severity: str, code: int) -> None:
    assert severity_code(severity) == code
    alert = make_alert(severity=severity).to_json()
    assert parse_syslog(render(alert, facility="local3")).pri == 19 * 8 + code


@pytest.mark.parametrize(("facility", "code"), [
    ("kern", 0), ("user", 1), ("mail", 2), ("daemon", 3), ("auth", 4), ("syslog", 5),
    ("lpr", 6), ("news", 7), ("uucp", 8), ("cron", 9), ("authpriv", 10), ("ftp", 11),
    ("local0", 16), ("local7", 23),
])
def test_facility_codes(facility: str, code: int) -> None:
    assert FACILITIES[facility] == code
    assert parse_syslog(render(facility=facility)).pri == code * 8 + 3


def test_unknown_facility_or_severity_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="facility"):
        render(facility="local8")
    with pytest.raises(ValueError, match="severity"):
        severity_code("urgent")


@pytest.mark.parametrize(("path", "shown"), [
    ('/data/"quoted".txt', '/data/"quoted".txt'),
    ("/data/back\\slash", "/data/back\\slash"),
    ("/data/[bracket].txt", "/data/[bracket].txt"),
    ('/d/\\"]', '/d/\\"]'),
    ("/data/line\nbreak", "/data/line\\nbreak"),
    ("/data/cr\r\nlf", "/data/cr\\r\\nlf"),
    ("/data/\x00\x1b\x7f\x85\u2028", "/data/\\x00\\x1b\\x7f\\u0085\\u2028"),
    ("/home/山田/機密.dwg", "/home/山田/機密.dwg"),
    ("/data/bad-\udcff-byte", "/data/bad-\\xff-byte"),
])
def test_sd_param_values_escape_quote_backslash_bracket(path: str, shown: str) -> None:
    data = render(make_alert(path=path).to_json())
    assert b"\n" not in data and b"\r" not in data
    assert parse_syslog(data).params["path"] == shown


def test_escaped_characters_on_the_wire() -> None:
    data = render(make_alert(path='a"b\\c]d').to_json())
    assert b'path="a\\"b\\\\c\\]d"' in data


@pytest.mark.parametrize(("field", "limit"),
                         [("hostname", 255), ("app_name", 48), ("procid", 128)])
def test_header_fields_are_cut_to_their_limits(field: str, limit: int) -> None:
    value: Any = int("9" * 300) if field == "procid" else "h" * 300
    msg = parse_syslog(render(**{field: value}))
    assert getattr(msg, field) == ("9" if field == "procid" else "h") * limit


def test_header_fields_are_printable_ascii_or_nil() -> None:
    msg = parse_syslog(render(hostname="", app_name="d l\tp\u00e9d"))
    assert msg.hostname == "-"
    assert msg.app_name == "d_l_p_d"
    long_kind = parse_syslog(render(kind="alert." + "x" * 40))
    assert len(long_kind.msgid) == 32


def test_the_message_is_valid_utf8_even_for_undecodable_names() -> None:
    data = render(make_alert(path="/x/\udce9t\u00e9.txt").to_json())
    data.decode("utf-8")
    assert "\\xe9" in parse_syslog(data).params["path"]


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=200) | st.text(max_size=50)


@given(path=_text, reason=_text, label=_text)
def test_never_a_raw_newline_and_always_parses(path: str, reason: str, label: str) -> None:
    alert = make_alert(path="/" + path, reason=reason, label=label).to_json()
    data = render(alert)
    assert b"\n" not in data and b"\r" not in data
    msg = parse_syslog(data)
    assert msg.params["path"] == one_line("/" + path)
    assert msg.params["label"] == one_line(label)
    data.decode("utf-8")


@given(path=_text, reason=_text, label=_text, host=_text)
def test_one_record_for_every_line_splitting_reader(path: str, reason: str, label: str,
                                                    host: str) -> None:
    """Not only CR and LF: VT, FF, the separators, NEL, U+2028/2029 end a line for readers
    that split like str.splitlines; ESC and bidi controls act on whoever reads the log."""
    data = render(make_alert(path="/" + path, reason=reason, label=label,
                             host=host).to_json())
    text = data.decode("utf-8")
    assert text.splitlines() == [text]
    before_bom, bom, msg = text.partition("\ufeff")  # the BOM RFC 5424 puts before MSG
    assert bom and unsafe_characters(before_bom + msg) == []


@pytest.mark.parametrize("char", [*LINE_BREAKS, "\x1b", "\x9b", "\u202e", "\ufeff"])
def test_every_line_break_and_control_is_escaped(char: str) -> None:
    data = render(make_alert(path=f"/a{char}b", reason=f"r{char}", host=f"h{char}").to_json())
    text = data.decode("utf-8")
    assert text.splitlines() == [text]
    assert text.count("\ufeff") == 1
