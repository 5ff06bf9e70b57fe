"""Values that stand where a secret would go: shared by the credential-file validators.

Pure: standard library only. Documentation, man pages and sample configs fill credential
files with words (``password``, ``changeme``, ``<your-token>``), templates (``${TOKEN}``,
``{{ pass }}``), runs of one character (``xxxx``, ``****``) and alphabet runs
(``abcdef0123456789``); a credential file with one of these holds no credential.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.api_token import has_sequence

# Words that stand where a secret would go; the password validator adds its own.
PLACEHOLDER_WORDS = frozenset(
    {
        "none", "null", "nil", "undefined", "true", "false", "yes", "no", "on", "off",
        "password", "passwd", "pass", "pwd", "passphrase", "secret", "token", "key",
        "apikey", "api_key", "default", "sample", "test", "testing", "dummy", "fake",
        "hidden", "masked", "removed", "redacted", "required", "optional", "todo", "tbd",
        "fixme", "n/a", "string", "text", "changeit", "changeme", "value", "prompt",
        "mypassword", "mypass", "mysecret", "mytoken", "yourpassword", "secretpassword",
        "username", "user", "login", "myname", "anonymous", "qwerty", "letmein",
        "tiger", "sekrit", "hunter2", "foobar", "foo", "bar", "baz",
    }
)  # fmt: skip
_FILLER = re.compile(
    r"example|placeholder|change[_-]?me|redacted|your[_\-]?(?:api|access|secret|pass|token|key)"
    r"|(?:^|[_\-])here$|xxxx|\*\*\*|\.\.\.|^<.*>$|^\[.*\]$",
    re.IGNORECASE,
)
_TEMPLATE = re.compile(r"\$\{|\$\(|\{\{|\{%|%\(|^\$[A-Za-z_]|^%[A-Za-z_]+%$|^\{\}$")


def is_placeholder(value: str) -> bool:
    """True when ``value`` is documentation filler, a template or a variable reference."""
    text = value.strip()
    if not text or text.lower() in PLACEHOLDER_WORDS:
        return True
    if len(set(text)) <= 2:  # "xxxx", "****", "0000", "a-a-"
        return True
    if _TEMPLATE.search(text) is not None or _FILLER.search(text) is not None:
        return True
    # "abcdef", "123456": a typed-in sequence, in keys and passwords alike.
    return len(text) >= 6 and has_sequence(text.lower())


def is_printable_secret(value: str) -> bool:
    """A value with no control characters and no decoding damage."""
    return value.isprintable() and "\ufffd" not in value
