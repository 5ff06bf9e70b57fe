"""E-mail (.eml, mbox) with MIME parts: decoded text and attachments.

Mail saved on a research share is a classic leak path, and its content is hidden from a
byte scan: attachments are base64, Japanese bodies are ISO-2022-JP, subjects are
=?ISO-2022-JP?B?...?= encoded words. The standard library's parser decodes all of it; this
module bounds it and names the parts (``mail.eml!design.docx``).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from typing import BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.reading import hand_over, read_bounded
from dlpd.classify.limits import Budget

# Header fields worth matching once decoded: a subject is where "【社外秘】" goes.
_HEADERS = ("Subject", "From", "To", "Cc", "Comments", "Keywords")
# "From " lines separate messages in an mbox file.
_MBOX_SPLIT = re.compile(rb"\n(?=From \S+ )")


def extract_mail(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    got = read_bounded(stream.read, budget, charge=False)
    # The whole mail is held while its parts are classified: they get what is left.
    budget.hold(len(got.data))
    try:
        for number, raw in enumerate(_MBOX_SPLIT.split(got.data), start=1):
            budget.charge_member()
            message = email.message_from_bytes(raw, policy=email.policy.compat32)
            yield from _message(message, budget, f"message{number}")
    finally:
        budget.release(len(got.data))


def _message(message: Message, budget: Budget, label: str) -> Iterator[Member]:
    headers = [f"{name}: {_decoded_header(value)}" for name in _HEADERS
               for value in message.get_all(name, [])]
    if headers:
        yield Member(f"{label}/headers", "\n".join(headers).encode("utf-8"), is_text=True)
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        budget.charge_member()
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            continue
        payload = payload[: budget.member_cap()]
        budget.charge_bytes(len(payload))
        name = _decoded_header(part.get_filename() or "") or f"{label}/part{index}"
        if part.get_content_maintype() == "text" and not part.get_filename():
            charset = part.get_content_charset() or "utf-8"
            try:
                text = payload.decode(charset, "replace")
            except LookupError:  # a charset Python does not know
                text = payload.decode("utf-8", "replace")
            yield from hand_over(budget, Member(name, text.encode("utf-8"), is_text=True))
        else:
            # Attachments (and forwarded messages) are classified like files.
            yield from hand_over(budget, Member(name, payload, is_text=False))
        del payload


def _decoded_header(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, ValueError, UnicodeDecodeError):
        return value
