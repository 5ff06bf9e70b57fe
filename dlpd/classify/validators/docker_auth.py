"""Registry logins in ``~/.docker/config.json`` (and podman's ``auth.json``).

``docker login`` stores ``"auth": base64("user:password")`` under ``"auths"`` unless a
credential helper (``credsStore``) keeps the secret elsewhere, in which case no ``auth``
is written. The validator decodes the value and wants the ``user:secret`` shape with a
real secret; ``"identitytoken"`` (a registry refresh token) needs a real-looking token.
"""

from __future__ import annotations

import base64
import binascii
import re

from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import is_placeholder, is_printable_secret

_FIELD = re.compile(r'"(?P<name>auth|identitytoken)"\s*:\s*"(?P<value>[^"]*)"')
_MAX_ENCODED = 4096
MIN_TOKEN = 16


def _decoded(encoded: str) -> str | None:
    if len(encoded) > _MAX_ENCODED:
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def validate(value: str) -> bool:
    match = _FIELD.search(value)
    if match is None:
        return False
    if match.group("name") == "identitytoken":
        token = match.group("value")
        return len(token) >= MIN_TOKEN and not is_placeholder(token)
    decoded = _decoded(match.group("value"))
    if decoded is None or ":" not in decoded:
        return False
    user, _, secret = decoded.partition(":")
    if not user or not is_printable_secret(user) or not is_printable_secret(secret):
        return False
    return not is_placeholder(secret)


def redact(value: str) -> str:
    match = _FIELD.search(value)
    name = match.group("name") if match else "auth"
    return f'"{name}": "********"'


VALIDATOR = Validator(name="docker_auth", validate=validate, redact=redact)
