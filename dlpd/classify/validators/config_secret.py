"""A secret written as ``key = value`` in a credential file whose format the rule knows.

The option files of mysql (``[client] password=``), rclone (``pass =``, ``token =``),
kubeconfig (``token:``, ``id-token:``) and command lines (``--token x``) hold secrets
under fixed keys. Unlike the generic password rule, a letters-only value counts here: in
those files it cannot be a variable or a type. Rejected: empty values, placeholders,
templates, references (``${TOKEN}``, ``$(cat f)``) and JSON tokens without a real
``access_token`` or ``refresh_token`` inside.
"""

from __future__ import annotations

import json
import re

from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import is_placeholder, is_printable_secret

_ASSIGN = re.compile(
    r"\s*[\"']?(?P<key>[A-Za-z0-9_.\-]{1,64})[\"']?[ \t]*(?:=|:|[ \t])[ \t]*(?P<value>[^\r\n]*)"
)
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")
_MAX_PREVIEW_KEY = 40


def _unquote(value: str) -> str:
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    # An unquoted value ends at a comment that follows a blank ("pw # note").
    return re.split(r"[ \t]+[#;]", text, maxsplit=1)[0].strip()


def _json_token_is_real(value: str) -> bool:
    """rclone's ``token = {"access_token": ...}``: some token inside must be real."""
    try:
        token = json.loads(value)
    except (ValueError, RecursionError):
        return False
    if not isinstance(token, dict):
        return False
    inner = [token.get(k) for k in _TOKEN_FIELDS]
    return any(isinstance(t, str) and len(t) >= 8 and not is_placeholder(t) for t in inner)


def secret_of(value: str) -> str | None:
    match = _ASSIGN.match(value)
    return None if match is None else _unquote(match.group("value"))


def validate(value: str) -> bool:
    secret = secret_of(value)
    if secret is None or not is_printable_secret(secret):
        return False
    if secret.startswith("{"):
        return _json_token_is_real(secret)
    return len(secret) >= 4 and not is_placeholder(secret)


def redact(value: str) -> str:
    match = _ASSIGN.match(value)
    key = match.group("key")[:_MAX_PREVIEW_KEY] if match else "secret"
    return f"{key} = ********"


VALIDATOR = Validator(name="config_secret", validate=validate, redact=redact)
