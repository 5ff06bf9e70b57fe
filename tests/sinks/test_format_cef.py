"""ArcSight CEF: header and extension escaping, severity, round trips through a parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.sinks.formats import cef

from .conftest import make_alert
from .grammar import parse_cef


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
    assert parse_cef(line).extension["filePath"] == "/x/\\udcff.bin"


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)


@given(path=_text, reason=_text, label=_text, host=_text)
def test_never_a_raw_newline_and_round_trips(path: str, reason: str, label: str,
                                             host: str) -> None:
    line = cef(make_alert(path=path, reason=reason, label=label, host=host).to_json(), "0.1")
    assert "\n" not in line and "\r" not in line
    parsed = parse_cef(line)
    assert parsed.extension["filePath"] == path
    assert parsed.extension["msg"] == reason
    assert parsed.extension["dvchost"] == host
    assert len(parsed.header) == 7
