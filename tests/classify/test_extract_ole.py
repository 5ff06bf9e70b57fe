"""Legacy Office files (OLE2) made by LibreOffice: their UTF-16 text comes out."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from dlpd.classify.extract import extract
from dlpd.classify.extract.ole import utf16_runs
from dlpd.classify.limits import Budget
from dlpd.classify.sniff import sniff_kind
from dlpd.errors import ExtractionError
from dlpd.model import Limits

from .cfb_writer import write_cfb

OFFICE = Path(__file__).resolve().parent.parent / "data" / "office"


def text_of(data: bytes) -> str:
    members = list(extract("ole", io.BytesIO(data), Budget(Limits())))
    assert [m.is_text for m in members] == [True]
    return members[0].data.decode("utf-8")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.doc", ["社外秘", "個人番号", "123456789018", "外為法", "該非判定",
                        "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"]),
        # Cells come out as rows (xlrd), so 8-bit and UTF-16 strings meet on one line.
        ("patients.xls", ["Patients", "山田太郎\t個人番号\t123456789018\t社外秘",
                          "ECCN\t3A001.a.1", "4111 1111 1111 1111", "12345678"]),
        ("briefing.ppt", ["社外秘", "該非判定", "マイナンバー", "4111 1111 1111 1111"]),
    ],
)
def test_legacy_office_text(name: str, expected: list[str]) -> None:
    data = (OFFICE / name).read_bytes()
    assert sniff_kind(data[:1024]) == "ole"
    text = text_of(data)
    missing = [e for e in expected if e not in text]
    assert not missing, f"{name}: not extracted: {missing}"


def test_truncated_ole_is_an_extraction_error() -> None:
    data = (OFFICE / "report.doc").read_bytes()[:1500]
    with pytest.raises(ExtractionError):
        text_of(data)


def test_utf16_runs_at_either_alignment() -> None:
    text = "社外秘 CUI//SP-PRVCY"
    for pad in (b"", b"\x01"):
        runs = utf16_runs(b"\x00\x01\x02" + pad + text.encode("utf-16-le") + b"\x00\x00\x01")
        assert any(text in run for run in runs)


def test_word_control_characters_become_separators() -> None:
    runs = utf16_runs("Name\x07IBAN\x07\x0bnext line".encode("utf-16-le"))
    assert "Name\tIBAN\t\nnext line" in runs


def test_outlook_msg_attachments_are_members() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("notes.txt", "EXPORT CONTROLLED - ITAR technical data\n")
    msg = write_cfb({
        ("__substg1.0_1000001F",): "Please find the design attached. 社外秘".encode("utf-16-le"),
        ("__attach_version1.0_#00000000", "__substg1.0_3707001F"): "design.zip".encode(
            "utf-16-le"),
        ("__attach_version1.0_#00000000", "__substg1.0_37010102"): archive.getvalue(),
        ("__attach_version1.0_#00000001", "__substg1.0_37010102"): b"second, unnamed",
    })
    assert sniff_kind(msg[:1024]) == "ole"
    members = list(extract("ole", io.BytesIO(msg), Budget(Limits())))
    assert members[0].is_text and "社外秘" in members[0].data.decode()
    raw = {m.name: m.data for m in members[1:]}
    assert set(raw) == {"design.zip", "attachment2"}
    assert zipfile.ZipFile(io.BytesIO(raw["design.zip"])).read("notes.txt").startswith(
        b"EXPORT CONTROLLED")
