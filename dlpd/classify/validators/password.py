"""Hard-coded passwords: a literal after a password key, in code, config, URLs or XML.

The rule hands over one of three shapes:

* an assignment, from the key to the end of the line: ``DB_PASSWORD=s3cret``,
  ``password = "s3cret"  # prod``, ``"password": "s3cret", "user": ...``;
* a URL with credentials, up to the ``@``: ``postgres://app:s3cret@``;
* an XML element: ``<password>s3cret</password>``.

Rejected, because they are not a secret written down:

* references: ``os.environ[...]``, ``getenv(...)``, ``self.password``, ``${DB_PASS}``,
  ``{{ password }}``, ``%(pw)s``, ``$PASS``, ``<password>``, a path (``PWD=/home/x``);
* unquoted values made of letters and underscores only (``password = pw_from_vault``,
  ``password: str``): in code they are variables and types, and the same line in an INI
  file cannot be told apart, so weak all-letter passwords in INI/YAML are missed;
* empty values, versions and dates, placeholders (changeme, password, xxxx, ****,
  your_password, <...>, example ...) and the famous demo pairs (scott/tiger, sekrit,
  hunter2);
* quoted labels and prose: ``"challengePassword"``, ``'Password used to generate key'``;
* keys that name a property of a password (``password_hash``, ``password_min_length``,
  ``password_file``) or are not about passwords at all (``passport``, ``bypass``);
* prose: an unquoted value followed by more words ("Password: must be 8 characters");
* bytes that are not text (a key-like run inside compressed data).
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import PLACEHOLDER_WORDS

MIN_LENGTH = 4
_MAX_KEY_PREVIEW = 40

_XML = re.compile(r"<(?P<tag>[A-Za-z_]+)>(?P<value>[^<]*)</(?P=tag)>")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<user>[^:@/\s]*):(?P<pw>[^@\s]*)@")
_ASSIGN = re.compile(
    r"(?P<key>[A-Za-z0-9_.\-]*)[\"'`]?[ \t]*(?P<op>:=|=>|=|:)[ \t]*(?P<rest>[^\r\n]*)"
)
_KEY_CORE = re.compile(r"passphrase|password|passwd|pass|pwd", re.IGNORECASE)
_STRING_PREFIX = re.compile(r"(?P<prefix>[rRbBuUfF]{0,2})(?P<quote>[\"'`])")
_UNQUOTED = re.compile(r"[^\s\"'`&;,)}\]]+")
# What may follow an unquoted value on its line: nothing, a comment, a separator.
_UNQUOTED_TAIL = re.compile(r"\s*(?:$|#|//|;|--|&|,|\)|\}|\]|\\$)")
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_LETTERS_ONLY = re.compile(r"[A-Za-z_]+")
_LABEL = re.compile(r"\w*(?:pass|pwd|secret|token|credential)\w*", re.IGNORECASE)
_VERSION_OR_DATE = re.compile(r"[0-9]+(?:[.\-/:][0-9]*)+")
_PATH = re.compile(r"(?:~?/|[A-Za-z]:\\).*[/\\]")
_TEMPLATE = re.compile(r"\$\{|\{\{|\{%|%\(|%s\b|\{\}|\{[0-9]\}|^\$[A-Za-z_]|^<.*>$|^\[.*\]$")
_FILLER = re.compile(
    r"example|placeholder|changeme|change_me|redacted|^your|^my_?pass"
    # words joined that name the secret instead of being it: user-password, db_secret
    r"|^[A-Za-z]+[-_](?:password|passwd|pass|pwd|secret|passphrase)$",
    re.I,
)

# A key that is "password" plus one of these words names a property, not the secret.
_PROPERTY_WORDS = frozenset(
    {
        "age", "attempts", "auth", "change", "changed", "check", "cmd", "command",
        "complexity", "confirm", "confirmation", "count", "digest", "dir", "enabled",
        "enable", "encrypted", "encryption", "env", "expiration", "expire", "expires",
        "expiry", "field", "file", "form", "hash", "hashed", "hasher", "hint", "history",
        "id", "input", "label", "len", "length", "less", "manager", "max", "maxlength",
        "method", "mgr", "min", "minlength", "mode", "pattern", "placeholder", "policy",
        "prompt", "regex", "required", "reset", "retries", "retry", "rule", "rules", "salt",
        "source", "store", "strength", "timeout", "type", "url", "validation", "validator",
        "var",
    }
)  # fmt: skip
# Besides the shared placeholder words: what a form says instead of a password.
_PLACEHOLDERS = PLACEHOLDER_WORDS | frozenset(
    {
        "incorrect", "invalid", "wrong", "missing", "empty", "expired", "failed", "error",
        "reset", "unset", "blank", "same", "below", "above", "vault",
    }
)  # fmt: skip


def _is_filler(value: str) -> bool:
    """Placeholders, templates and filler that stand where a password would go."""
    text = value.strip()
    if text.lower() in _PLACEHOLDERS or len(text) < MIN_LENGTH:
        return True
    if len(set(text)) <= 2:  # "xxxx", "****", "....", "a-a-"
        return True
    if _VERSION_OR_DATE.fullmatch(text) or _PATH.match(text):
        return True
    return _TEMPLATE.search(text) is not None or _FILLER.search(text) is not None


def _is_text(secret: str) -> bool:
    """Undecodable or control bytes: a key-like byte run inside compressed or binary data."""
    return secret.isprintable() and "\ufffd" not in secret


def _is_password_key(key: str) -> bool:
    """True when ``key`` names a password itself, not a property of one."""
    if "." in key and _KEY_CORE.search(key.rsplit(".", 1)[1]) is None:
        # spring.datasource.password names a password; passphrase.c, gpasswd.8.xml and
        # pwd.exp (file names in changelogs) do not.
        return False
    match = _KEY_CORE.search(key)
    if match is None:
        return False
    core = match.group().lower()
    rest = key[match.end() :]
    if core == "pass":
        # Bare "pass" only as a whole key or a suffix: DB_PASS, SMTP_PASS, pass1;
        # "passport", "passive", "pass_rate" are something else.
        return rest == "" or rest.isdigit()
    glued = re.match(r"[A-Za-z]*", rest)
    if glued is not None and glued.group().lower() in _PROPERTY_WORDS:
        return False
    words = re.split(r"[_.\-]+|(?<=[a-z])(?=[A-Z])", rest)
    return not any(w.lower() in _PROPERTY_WORDS for w in words if w)


def _quoted_value(rest: str) -> str | None:
    """The literal at the start of ``rest`` when it is a complete string literal."""
    start = _STRING_PREFIX.match(rest)
    if start is None:
        return None
    quote = start.group("quote")
    end = rest.find(quote, start.end())
    if end < 0:
        return None
    value = rest[start.end() : end]
    if "f" in start.group("prefix").lower() and "{" in value:
        return ""  # an f-string: the password comes from a variable
    if value.count(" ") >= 2 or _LABEL.fullmatch(value):
        return ""  # prose or a label ("challengePassword"), not a secret
    return value


def _unquoted_value(rest: str) -> str | None:
    token_match = _UNQUOTED.match(rest)
    if token_match is None:
        return None
    token = token_match.group()
    if token[0] in "$%{<!@*&|>:" or "(" in token or "[" in token:
        return None  # a call, a subscript, a variable or template reference
    if _DOTTED_NAME.fullmatch(token) or _LETTERS_ONLY.fullmatch(token):
        return None  # an attribute, a variable, a type
    if _UNQUOTED_TAIL.match(rest, token_match.end()) is None:
        return None  # more words follow: prose
    return token


def _assignment_value(value: str) -> str | None:
    # A quoted key ("password": ...) arrives with or without its opening quote.
    match = _ASSIGN.match(value.lstrip().lstrip("\"'`"))
    if match is None:
        return None
    # First: a test log holds this line a hundred thousand times.
    if match.group("key") == "PASS" and match.group("op") == ":":
        return None  # "PASS: gas/i386/foo" in test logs, as in "FAIL:"
    if not _is_password_key(match.group("key")):
        return None
    rest = match.group("rest")
    if match.group("op") == "=" and rest.startswith("="):
        return None  # a comparison, "password == x"
    quoted = _quoted_value(rest)
    return quoted if quoted is not None else _unquoted_value(rest)


def extract_secret(value: str) -> str | None:
    """The password written in a match, or None when there is none to see."""
    text = value.strip()
    # The cheap tests first: most matches are neither XML nor a URL.
    xml = _XML.search(text) if text.startswith("<") else None
    if xml is not None:
        return xml.group("value").strip()
    url = _URL.search(text) if "://" in text[:40] else None
    if url is not None:
        return url.group("pw")
    return _assignment_value(text)


def validate(value: str) -> bool:
    secret = extract_secret(value)
    return secret is not None and _is_text(secret) and not _is_filler(secret)


def redact(value: str) -> str:
    """The key (or URL user) stays for context; the password becomes eight stars."""
    text = value.strip()
    xml = _XML.search(text) if text.startswith("<") else None
    if xml is not None:
        return f"<{xml.group('tag')}>********</{xml.group('tag')}>"
    url = _URL.search(text) if "://" in text[:40] else None
    if url is not None:
        user = url.group("user")
        shown_user = user[:2] + "***" if user else ""
        return f"{url.group('scheme')}://{shown_user}:********@"
    match = _ASSIGN.match(text)
    key = match.group("key")[:_MAX_KEY_PREVIEW] if match else "password"
    return f"{key}=********"


VALIDATOR = Validator(name="password", validate=validate, redact=redact)
