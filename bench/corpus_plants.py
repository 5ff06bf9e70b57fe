"""Planted positives for the benchmark corpus: realistic sensitive snippets, valid by construction.

Numbers must pass the validators dlpd applies (Luhn for cards, SSA area/group/serial rules
for SSNs), otherwise a "miss" would only measure our generator. Secrets are random per
plant so that no two files share a literal a scanner could cache or dedupe.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable

# The kinds each category can sensibly live in; "container" kinds hide the snippet from a
# byte-level scanner (yara CLI) and show what dlpd's extraction adds.
ELIGIBLE: dict[str, tuple[str, ...]] = {
    "credit-card": ("txt", "log", "md", "csv", "json", "docx", "xlsx", "zip", "targz"),
    "us-ssn": ("txt", "log", "md", "csv", "json", "docx", "xlsx", "zip", "loggz"),
    "credential": ("txt", "log", "md", "src", "json", "zip"),
    "private-key": ("txt", "md", "src", "zip", "targz"),
    "cui": ("txt", "md", "docx"),
    "jp-confidential": ("txt", "md", "jptxt", "docx"),
}

CONTAINER_KINDS = frozenset({"docx", "xlsx", "zip", "targz", "loggz"})

_AWS_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_AWS_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
# Issuer prefixes with their total length: Visa 16, Mastercard 16, Amex 15, Discover 16.
_CARD_PREFIXES: tuple[tuple[str, int], ...] = (
    ("4", 16),
    ("51", 16),
    ("55", 16),
    ("37", 15),
    ("6011", 16),
)


def luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to ``partial``."""
    total = 0
    # Walking right-to-left over the partial number, the first digit is the one doubled.
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return partial + str((10 - total % 10) % 10)


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice(_CARD_PREFIXES)
    body = prefix + "".join(rng.choices("0123456789", k=length - len(prefix) - 1))
    number = luhn_complete(body)
    separator = rng.choice(("", " ", "-"))
    if length == 15:  # Amex groups 4-6-5
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i : i + 4] for i in range(0, 16, 4)]
    return separator.join(groups)


def ssn(rng: random.Random) -> str:
    # Areas 000, 666 and 900-999 were never issued; group 00 and serial 0000 neither.
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _card_snippet(rng: random.Random) -> str:
    label = rng.choice(("card number", "Card Number:", "credit card number", "card number ="))
    return f"{label} {card_number(rng)}"


def _ssn_snippet(rng: random.Random) -> str:
    label = rng.choice(("SSN:", "SSN", "patient SSN", "SSN #"))
    return f"{label} {ssn(rng)}"


def _aws_snippet(rng: random.Random) -> str:
    key_id = "AKIA" + "".join(rng.choices(_AWS_ID_ALPHABET, k=16))
    secret = "".join(rng.choices(_AWS_SECRET_ALPHABET, k=40))
    return f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}"


def _pem_snippet(rng: random.Random) -> str:
    kind = rng.choice(("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"))
    body = base64.b64encode(rng.randbytes(rng.choice((121, 609, 1190)))).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def _cui_snippet(rng: random.Random) -> str:
    return rng.choice(("CUI//SP-PRVCY", "CUI//SP-PRVCY//NOFORN", "CONTROLLED // CUI//SP-PRVCY"))


def _jp_snippet(rng: random.Random) -> str:
    # Fullwidth colon and brackets are how the marking is really written.
    markings = ("【社外秘】", "社外秘", "取扱注意：社外秘", "区分: 社外秘（研究部門限り）")  # noqa: RUF001
    return rng.choice(markings)


SNIPPETS: dict[str, Callable[[random.Random], str]] = {
    "credit-card": _card_snippet,
    "us-ssn": _ssn_snippet,
    "credential": _aws_snippet,
    "private-key": _pem_snippet,
    "cui": _cui_snippet,
    "jp-confidential": _jp_snippet,
}

# Banners mark a whole document: top and bottom, as marking guides require.
_BANNER_CATEGORIES = frozenset({"cui", "jp-confidential"})


def plant_in_text(body: bytes, category: str, rng: random.Random) -> bytes:
    """Return ``body`` with one snippet of ``category`` inserted at a line boundary."""
    snippet = SNIPPETS[category](rng).encode()
    if category in _BANNER_CATEGORIES:
        return snippet + b"\n" + body + b"\n" + snippet + b"\n"
    position = body.find(b"\n", rng.randrange(len(body) + 1)) if body else -1
    cut = len(body) if position < 0 else position + 1
    return body[:cut] + snippet + b"\n" + body[cut:]


def snippet_lines(category: str, rng: random.Random) -> list[str]:
    """One snippet as lines, for structured kinds (JSON values, document paragraphs)."""
    return SNIPPETS[category](rng).split("\n")
