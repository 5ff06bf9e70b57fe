"""Private-key blocks: a key, not a page that talks about one.

The rule's regex captures the BEGIN line and the start of what follows it. A key has a
base64 body right there (after optional RFC 1421 / OpenPGP header lines); a tutorial that
quotes the BEGIN line, or shows ``MIIEpAIBAAK...`` cut short, does not. Bodies may arrive
with real line breaks, with literal ``\\n`` escapes (a key inside a JSON service-account
file) or with spaces where a PDF lost the line breaks.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator

_HEADER = re.compile(r"-----BEGIN [A-Z0-9 _-]*PRIVATE KEY(?: BLOCK)?-----")
_ARMOR_LINE = re.compile(
    r"(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset|MessageID):[^\r\n\\]*(?:\\n|\r?\n)"
)
_BREAKS = re.compile(r"\\r|\\n|\s")
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")
MIN_BODY = 40


def validate(value: str) -> bool:
    header = _HEADER.search(value)
    if header is None:
        return False
    rest = _ARMOR_LINE.sub("", value[header.end() :])
    body = _BREAKS.sub("", rest)
    run = _BASE64.match(body)
    if run is None or len(run.group()) < MIN_BODY:
        return False
    chars = run.group()
    # Runs of one letter are filler ("XXXX...", "AAAA...") in documentation.
    return len(set(chars)) >= 16


def redact(value: str) -> str:
    header = _HEADER.search(value)
    # The BEGIN line says what kind of key it is and is no secret; the body never shows.
    return (header.group() if header else "-----BEGIN PRIVATE KEY-----") + " ****"


VALIDATOR = Validator(name="pem", validate=validate, redact=redact)
