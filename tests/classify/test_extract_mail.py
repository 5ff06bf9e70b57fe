"""E-mail: encoded subjects, ISO-2022-JP bodies and base64 attachments come out."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

import pytest

from dlpd.classify.extract import extract
from dlpd.classify.limits import Budget
from dlpd.classify.sniff import sniff_kind
from dlpd.model import Limits


def japanese_mail_with_attachment() -> bytes:
    m = EmailMessage()
    m["From"] = "山田 <yamada@example.jp>"
    m["To"] = "partner@example.com"
    m["Subject"] = "【社外秘】設計図の送付"
    m.set_content("添付の通り送付します。\nカード番号 4111 1111 1111 1111\n", charset="iso-2022-jp")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("design/notes.txt", "EXPORT CONTROLLED - ITAR technical data\n")
    m.add_attachment(archive.getvalue(), maintype="application", subtype="zip",
                     filename="design.zip")
    return bytes(m)


def members(data: bytes) -> list[tuple[str, bytes, bool]]:
    return [(m.name, m.data, m.is_text)
            for m in extract("mail", io.BytesIO(data), Budget(Limits()))]


def test_subject_body_and_attachment() -> None:
    data = japanese_mail_with_attachment()
    assert "社外秘".encode() not in data, "the fixture must hide the marking from a byte scan"
    assert sniff_kind(data[:65536]) == "mail"
    found = members(data)
    text = b"\n".join(d for _, d, is_text in found if is_text).decode()
    assert "Subject: 【社外秘】設計図の送付" in text
    assert "カード番号 4111 1111 1111 1111" in text
    attachments = [(n, d) for n, d, is_text in found if not is_text]
    assert [n for n, _ in attachments] == ["design.zip"]
    assert zipfile.ZipFile(io.BytesIO(attachments[0][1])).namelist() == ["design/notes.txt"]


def test_mbox_messages_are_read_one_by_one() -> None:
    one = japanese_mail_with_attachment()
    mbox = b"From a@example.jp Mon Jan  1 00:00:00 2024\n" + one + (
        b"\nFrom b@example.jp Mon Jan  1 00:00:01 2024\n" + one)
    assert sniff_kind(mbox[:65536]) == "mail"
    names = [n for n, _, _ in members(mbox)]
    assert names.count("design.zip") == 2
    assert "message1/headers" in names and "message2/headers" in names


def test_truncated_base64_does_not_break_the_scan() -> None:
    data = japanese_mail_with_attachment()
    cut = data[: data.index(b"base64") + 40]
    assert any(is_text for _, _, is_text in members(cut))


@pytest.mark.parametrize(
    "head",
    [
        b"From: a@example.com\nSubject: plain\n\nNothing encoded here.\n",
        b"id,name\n1,From: someone\n",
        b"Subject line of notes: base64 is an encoding\n",
    ],
)
def test_plain_text_is_not_mail(head: bytes) -> None:
    assert sniff_kind(head) is None
