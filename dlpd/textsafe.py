"""Data as text that is safe to show: no control character reaches a terminal, a table or
a line-oriented record. Pure: standard library only.

File names, archive member names, triage notes, process names and sink errors are chosen
by whoever wrote them. A newline in one forges a line (a fake table row, a fake
``CEF:0|...`` record, a fake triage note); CR, ESC, CSI and OSC sequences move the cursor,
clear the screen or print a hyperlink; bidi overrides (U+202E) and isolates reorder what a
reader sees ("Trojan Source"); NEL, U+2028 and U+2029 end a line for every reader that
splits like ``str.splitlines``. ``visible`` turns each such character into an escape a
person can read, and it is what every human-facing output applies to data.

The escapes, which make ``visible`` one-to-one (two different strings never look alike):

- ``\\n``, ``\\r``, ``\\t``; other C0 controls and DEL as ``\\x00``-``\\x1f``, ``\\x7f``;
- ``\\xNN`` with NN >= 80 is a *byte* of a file name that is not UTF-8 (Python keeps it
  as the lone surrogate U+DC80-U+DCFF; see ``os.fsdecode``);
- C1 controls (NEL is U+0085), format characters (Unicode category Cf: bidi controls,
  zero-width space, soft hyphen, tag characters ...), line and paragraph separators and
  any other lone surrogate as ``\\uNNNN`` / ``\\UNNNNNNNN``;
- a backslash in the data as ``\\\\``, so a file literally named ``a\\nb`` is shown as
  ``a\\\\nb`` and cannot pass for one holding a newline (``ls -b`` does the same).

Kept as they are: every printable character, ordinary spaces (including U+3000, common in
Japanese names), private-use and unassigned code points (they draw a glyph or a box and
move nothing), and ZWNJ/ZWJ (U+200C/U+200D), which shape Indic and Persian text and
emoji and cannot reorder it.

``keep_backslash=True`` is for text that dlpd composed itself around data (an error
message quoting a path with ``repr``): it still escapes every control, but leaves ``\\``
alone so that the message's own escapes are not doubled.

``json_text`` is the same promise for JSON lines: ``json.dumps`` with ``ensure_ascii=False``
leaves NEL, U+2028 and U+2029 raw (legal JSON, but a line-splitting reader sees two
records) and writes lone surrogates that no UTF-8 stream can carry.
"""

from __future__ import annotations

import json
import re
import unicodedata
from urllib.parse import urlsplit

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
# Non-printable categories (str.isprintable is False for them) shown as they are.
_KEPT_CATEGORIES = frozenset({"Zs", "Co", "Cn"})
_JOINERS = frozenset({"\u200c", "\u200d"})


def _escape(char: str) -> str:
    code = ord(char)
    named = _NAMED.get(char)
    if named is not None:
        return named
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that os.fsdecode could not decode
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _is_shown_raw(char: str) -> bool:
    return char in _JOINERS or unicodedata.category(char) in _KEPT_CATEGORIES


def visible(text: str, *, keep_backslash: bool = False) -> str:
    """``text`` with every control, format and line-breaking character as a visible escape
    (see the module docstring); one line, valid UTF-8, and nothing a terminal acts on."""
    if text.isprintable() and (keep_backslash or "\\" not in text):
        return text  # the common case: one C-speed scan, no copy
    out = []
    for char in text:
        if char == "\\":
            out.append(char if keep_backslash else "\\\\")
        elif char.isprintable() or _is_shown_raw(char):
            out.append(char)
        else:
            out.append(_escape(char))
    return "".join(out)


# Inside JSON these can only occur in strings, where \uNNNN is their valid spelling.
_JSON_UNSAFE = re.compile("[\u0085\u2028\u2029\ud800-\udfff]")


def json_text(value: object, *, indent: int | None = None) -> str:
    """``value`` as JSON that keeps one record per line and is valid UTF-8: like
    ``json.dumps(ensure_ascii=False)``, but NEL, U+2028, U+2029 and lone surrogates are
    written as ``\\uNNNN`` escapes (a surrogate from an undecodable name byte round-trips
    through Python's ``json.loads``). Compact separators unless ``indent`` is given."""
    text = json.dumps(value, ensure_ascii=False, indent=indent,
                      separators=None if indent is not None else (",", ":"))
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def redact_url(url: str) -> str:
    """``url`` fit for an error message or a log line (a webhook's, a database's): the
    password in ``user:password@`` and every query value (``?token=...``, often a
    credential) become ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    netloc = parts.netloc
    user, at, host = netloc.rpartition("@")
    if at:
        name, colon, _password = user.partition(":")
        netloc = f"{name}{colon and ':***'}@{host}"
    query = "&".join(f"{key}{eq and '=***'}" for key, eq, _value in
                     (field.partition("=") for field in parts.query.split("&") if field))
    # Built by hand: urlunsplit drops an empty authority, turning sqlite:////var/x (an
    # absolute path) into sqlite://var/x (host "var"). The fragment is left out.
    authority = f"//{netloc}" if url[len(parts.scheme) + 1:].startswith("//") else ""
    return (f"{parts.scheme}:" if parts.scheme else "") + authority + parts.path + (
        f"?{query}" if query else "")
