"""``.netrc`` entries (curl, ftp, git, pip, wandb): a machine, a login and a real password.

The rule hands over one entry from ``machine``/``default`` to the end of its password
token, on one line or several. Rejected:

* placeholder passwords (the man pages' ``mypassword``, curl's ``qwerty``) and templates;
* passwords of lower-case letters only (git's and curl's test netrc files: ``letmeknow``):
  a word, as the generic password rule treats letters-only values; tokens and generated
  passwords mix case or digits;
* anonymous FTP (``login anonymous password user@site``): by convention the password is
  the user's mail address, not a secret;
* an entry whose machine is not a host name and that names no login: that is prose
  ("the machine is password protected"), not netrc.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import is_placeholder, is_printable_secret

_WORD = re.compile(r"[a-z]+")
_ANONYMOUS = frozenset({"anonymous", "ftp", "guest"})
_HOST = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9\-_]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-_]+)*\.?|\[?[0-9A-Fa-f:.]+\]?"
)
_MAX_PREVIEW_HOST = 40


def _tokens(value: str) -> dict[str, str]:
    """Keyword -> its argument, from ``machine h login u password p`` in any layout."""
    words = value.split()
    found: dict[str, str] = {}
    if words and words[0] == "default":
        found["machine"] = ""
        words = words[1:]
    for key, arg in zip(words[::2], words[1::2], strict=False):
        found.setdefault(key, arg)
    return found


def _is_secret(password: str) -> bool:
    return (is_printable_secret(password) and not is_placeholder(password)
            and _WORD.fullmatch(password) is None)  # fmt: skip


def validate(value: str) -> bool:
    entry = _tokens(value)
    host, login, password = entry.get("machine"), entry.get("login"), entry.get("password")
    if host is None or password is None:
        return False
    if not _is_secret(password) or (login is not None and login.lower() in _ANONYMOUS):
        return False
    if host == "":  # "default": only with a login, as the man page writes it
        return login is not None
    if _HOST.fullmatch(host) is None:
        return False
    return login is not None or "." in host


def redact(value: str) -> str:
    entry = _tokens(value)
    host = entry.get("machine") or "default"
    shown = f"machine {host[:_MAX_PREVIEW_HOST]}" if entry.get("machine") else "default"
    login = entry.get("login")
    if login:
        shown += f" login {login[:2]}***"
    return shown + " password ********"


VALIDATOR = Validator(name="netrc", validate=validate, redact=redact)
