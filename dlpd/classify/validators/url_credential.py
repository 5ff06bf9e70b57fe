"""Git credential-store lines (``~/.git-credentials``): ``https://user:secret@host``.

``git credential-store`` writes one URL per line with the password or token
percent-encoded. The rule hands over a whole line; the secret between ``:`` and ``@``
must be a real value, not ``<token>``, ``${GITHUB_TOKEN}`` or ``password``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import is_placeholder, is_printable_secret

_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<user>[^:@/\s]*):(?P<pw>[^@\s]*)@(?P<host>[^\s/:]*)"
)


def validate(value: str) -> bool:
    match = _URL.search(value)
    if match is None or not match.group("user"):
        return False
    secret = unquote(match.group("pw"))
    if not is_printable_secret(secret) or is_placeholder(secret):
        return False
    return not is_placeholder(match.group("user")) or len(secret) >= 20


def redact(value: str) -> str:
    match = _URL.search(value)
    if match is None:
        return "****://****:********@"
    user = match.group("user")
    return f"{match.group('scheme')}://{user[:2]}***:********@{match.group('host')[:60]}"


VALIDATOR = Validator(name="url_credential", validate=validate, redact=redact)
