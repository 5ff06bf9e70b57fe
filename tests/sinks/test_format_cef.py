"""ArcSight CEF: header and extension escaping, severity, round trips through a parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.sinks.formats import cef

from .conftest import make_alert
from .grammar import LINE_BREAKS, parse_cef, unescape_visible, unsafe_characters


def test_header_and_extension_fields() -> None:
    line = cef(make_alert().to_json(), "0.1.0")
    parsed = parse_cef(line)
    assert parsed.header == [
        "CEF:0", "dlpd", "dlpd", "0.1.0", "dlpd:label:export-controlled",
        "export-controlled file outside its approved locations", "8",
    ]
    assert parsed.extension == {
        "rt": str(int((1_714_564_800.25 + 60.5) * 1000)),
        "externalId": "17",
        "dvchost": "ws-17.lab.example",
        "fname": "x.dwg",
        "filePath": "/home/alice/cad/x.dwg",
        "fileHash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "msg": "export-controlled file outside approved locations (/srv/itar)",
        "cs1Label": "labels", "cs1": "export-controlled,confidential",
        "cs2Label": "categories", "cs2": "export-control,jp-confidential",
        "cs3Label": "rules", "cs3": "ear_eccn,jp_gokuhi",
        "cs4Label": "provenance", "cs4": "copied from /srv/itar/x.dwg",
        "cs5Label": "status", "cs5": "open",
    }


@pytest.mark.parametrize(("severity", "number"),
                         [("low", "3"), ("medium", "5"), ("high", "8"), ("critical", "10")])
def test_severity(severity: str, number: str) -> None:
    assert parse_cef(cef(make_alert(severity=severity).to_json(), "0.1.0")).header[6] == number


def test_no_provenance_leaves_cs4_out() -> None:
    ext = parse_cef(cef(make_alert(provenance=None).to_json(), "0.1.0")).extension
    assert "cs4" not in ext and "cs4Label" not in ext


# (value, how it appears in an extension value on the wire)
EXTENSION_TABLE = [
    ("plain", "plain"),
    ("a=b", "a\\=b"),
    ("back\\slash", "back\\\\slash"),
    ("pipe|stays", "pipe|stays"),
    ("line\nbreak", "line\\nbreak"),
    ("carriage\rreturn", "carriage\\rreturn"),
    ("crlf\r\n", "crlf\\r\\n"),
    ("\\=", "\\\\\\="),
    ("\\n literal", "\\\\n literal"),
    ("spaces  inside ", "spaces  inside "),
    ("機密 ファイル", "機密 ファイル"),
]


@pytest.mark.parametrize(("value", "wire"), EXTENSION_TABLE)
def test_extension_escaping(value: str, wire: str) -> None:
    line = cef(make_alert(reason=value).to_json(), "0.1.0")
    assert f" msg={wire} cs1Label=" in line
    assert parse_cef(line).extension["msg"] == value


# (label, how it appears in a header field on the wire)
HEADER_TABLE = [
    ("plain", "plain"),
    ("pi|pe", "pi\\|pe"),
    ("back\\slash", "back\\\\slash"),
    ("equals=fine", "equals=fine"),
    ("new\nline", "new line"),
    ("cr\r\nlf", "cr lf"),
    ("機密", "機密"),
]


@pytest.mark.parametrize(("label", "wire"), HEADER_TABLE)
def test_header_escaping(label: str, wire: str) -> None:
    line = cef(make_alert(label=label).to_json(), "0.1.0")
    assert f"|dlpd:label:{wire}|{wire} file outside" in line
    assert parse_cef(line).header[4] == "dlpd:label:" + label.replace("\r\n", " ").replace(
        "\n", " ")


def test_non_ascii_and_hostile_paths_round_trip() -> None:
    path = "/home/山田/a=b|c\\d\ne.dwg"
    ext = parse_cef(cef(make_alert(path=path).to_json(), "0.1.0")).extension
    assert ext["filePath"] == path
    assert ext["fname"] == "a=b|c\\d\ne.dwg"


def test_undecodable_name_bytes_become_visible_escapes() -> None:
    line = cef(make_alert(path="/x/\udcff.bin").to_json(), "0.1.0")
    line.encode("utf-8")
    assert parse_cef(line).extension["filePath"] == "/x/\\xff.bin"


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
# Without backslashes of their own, values can be recovered from dlpd's visible escapes.
_no_backslash = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\\"),
                        max_size=200)


@given(path=_text, reason=_text, label=_text, host=_text)
def test_one_line_no_control_and_always_parses(path: str, reason: str, label: str,
                                               host: str) -> None:
    line = cef(make_alert(path=path, reason=reason, label=label, host=host).to_json(), "0.1")
    assert line.splitlines() == [line], "a line-splitting reader must see one record"
    assert unsafe_characters(line) == []
    parsed = parse_cef(line)
    assert len(parsed.header) == 7
    assert {"filePath", "msg", "dvchost", "cs5"} <= parsed.extension.keys()


@given(path=_no_backslash, reason=_no_backslash, host=_no_backslash)
def test_values_round_trip_through_visible_escapes(path: str, reason: str, host: str) -> None:
    parsed = parse_cef(cef(make_alert(path=path, reason=reason, host=host).to_json(), "0.1"))
    assert unescape_visible(parsed.extension["filePath"]) == path
    assert unescape_visible(parsed.extension["msg"]) == reason
    assert unescape_visible(parsed.extension["dvchost"]) == host


@given(path=st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")),
                    max_size=200))
def test_printable_values_round_trip_exactly(path: str) -> None:
    assert parse_cef(cef(make_alert(path=path).to_json(), "0.1")).extension["filePath"] == path


# The characters the issue saw pass raw, and their neighbours: every one would end a line
# for some reader, or act on a terminal.
@pytest.mark.parametrize("char", [*LINE_BREAKS, "\x1b", "\x00", "\x7f", "\x9b", "\u202e",
                                  "\u2066", "\ufeff", "\U000e0041"])
@pytest.mark.parametrize("field", ["path", "reason", "label", "host", "provenance"])
def test_every_line_break_and_control_is_escaped(char: str, field: str) -> None:
    value = f"a{char}CEF:0|Forged|x|1|sig|name|10|msg=forged"
    alert = make_alert(**{field: value}).to_json()
    lines = "".join(cef(alert, "0.1") + "\n" for _ in range(3)).splitlines()
    assert len(lines) == 3, f"{char!r} in {field} split a record"
    assert unsafe_characters(lines[0]) == []
