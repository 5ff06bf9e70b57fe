"""PostgreSQL password files (``~/.pgpass``): ``host:port:database:user:password`` lines.

The rule fires on a port field (``:5432:``, ``:*:``); the finder then reads whole lines
of five colon-separated fields, where ``\\:`` and ``\\\\`` are escapes (libpq's format).
What else is written as colon-separated fields is told apart by the fields themselves:

* /etc/passwd, /etc/group, /etc/shadow: the second field is ``x`` or a hash, not a port;
* times (``12:34:56:78:90``), MAC and IPv6 addresses: the "host" is a number or hex
  group, or a field is empty, or the "password" holds a bare colon;
* ``a:b:c:d:e`` in prose: no port in the second field;
* the documentation's ``hostname:port:database:username:password``: placeholders.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import is_placeholder, is_printable_secret

FINDER = re.compile(
    rb"^(?:[^:\s#\\]|\\.){1,255}:(?:[0-9]{1,5}|\*):(?:[^:\s\\]|\\.){1,63}:"
    rb"(?:[^:\s\\]|\\.){1,63}:(?:[^\r\n\\]|\\.){1,256}$",
    re.MULTILINE,
)
_FIELD = re.compile(r"(?:[^:\\]|\\.)*")
_HOSTNAME = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9])?")
_IPV4 = re.compile(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}")
_NAME = re.compile(r"\*|[A-Za-z_][A-Za-z0-9_$.\-@]*|\"[^\"]+\"")


def fields(line: str) -> list[str]:
    """The colon-separated fields of ``line``, escapes kept (libpq splits the same way)."""
    out: list[str] = []
    pos = 0
    while pos <= len(line):
        match = _FIELD.match(line, pos)
        assert match is not None  # the pattern matches the empty string
        out.append(match.group())
        pos = match.end() + 1
    return out


def _is_host(host: str) -> bool:
    if host in ("*", "localhost") or host.startswith("/"):  # a socket directory
        return True
    if _IPV4.fullmatch(host):
        return True
    # A host name has a letter: "12" (a time) and "00" (a MAC byte) are not hosts.
    return _HOSTNAME.fullmatch(host) is not None


def validate(value: str) -> bool:
    parts = fields(value.strip())
    if len(parts) != 5:
        return False  # a bare colon in the password, or a line with more fields
    host, port, database, user, password = parts
    if port != "*" and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    if not _is_host(host) or not _NAME.fullmatch(database) or not _NAME.fullmatch(user):
        return False
    secret = password.replace("\\:", ":").replace("\\\\", "\\")
    return is_printable_secret(secret) and not is_placeholder(secret)


def redact(value: str) -> str:
    parts = fields(value.strip())
    if len(parts) != 5:
        return "****:****:********"
    host, port, database, user, _ = parts
    return f"{host[:40]}:{port}:{database[:20]}:{user[:2]}***:********"


VALIDATOR = Validator(name="pgpass", validate=validate, redact=redact, finder=FINDER)
