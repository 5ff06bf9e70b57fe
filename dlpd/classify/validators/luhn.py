"""Payment card numbers: issuer prefix and length, then the Luhn checksum.

Presidio's credit-card recognizer checks Luhn only; the issuer table below also rejects
Luhn-valid sample IDs and timestamps (13-digit epoch milliseconds start with 1, which no
scheme issues). The well-known test numbers (4111 1111 1111 1111, 5555 5555 5555 4444,
3782 822463 10005 ...) pass on purpose: peers' truth tables count them as cards.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import DigitRuns, Validator, is_all_same, mask

# Grouped forms are the ones cards are printed in: 4-4-4-4, Amex 4-6-5, Diners 4-6-4.
# A fifth group is left out on purpose: "4111 1111 1111 1111 2024" would otherwise be
# found as one 20-digit run that fails, and the card inside it would be lost.
# The pattern opens with a plain digit class and checks "no digit before" right after it:
# a leading lookbehind would stop sre from skipping ahead to the next digit (5x slower
# on text, measured).
# Letters around the digits are no card: they are hex hashes, UUIDs and base64 (a git
# commit id in a changelog held a Luhn-valid 15-digit run; measured on /usr/share/doc).
FINDER = re.compile(
    rb"[0-9](?<![0-9A-Za-z][0-9])"
    rb"(?:[0-9]{3}(?P<s1>[ -])[0-9]{4}(?P=s1)[0-9]{4}(?P=s1)[0-9]{4}"
    rb"|[0-9]{3}(?P<s2>[ -])[0-9]{6}(?P=s2)[0-9]{4,5}"
    rb"|[0-9]{12,18})"
    rb"(?![0-9A-Za-z])"
)

# What every FINDER match holds, in DigitRuns' shorthand: 13 digits, or the groupings.
RUNS = DigitRuns((b"0" * 13, b"0000-0000-0000-0000", b"0000-000000-0000"))

_GROUPINGS = frozenset({(4, 4, 4, 4), (4, 6, 5), (4, 6, 4)})

# (first digits low, high, allowed lengths); prefixes are compared as integers of equal width.
_ISSUERS: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),  # American Express
    (6011, 6011, frozenset(range(16, 20))),  # Discover
    (644, 649, frozenset(range(16, 20))),  # Discover
    (65, 65, frozenset(range(16, 20))),  # Discover
    (3528, 3589, frozenset(range(16, 20))),  # JCB
    (300, 305, frozenset(range(14, 20))),  # Diners Club
    (36, 36, frozenset(range(14, 20))),  # Diners Club
    (38, 39, frozenset(range(14, 20))),  # Diners Club
    (62, 62, frozenset(range(16, 20))),  # UnionPay
)


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_luhn_valid(digits: str) -> bool:
    if len(digits) < 2 or not digits.isdigit():
        return False
    return luhn_check_digit(digits[:-1]) == digits[-1]


def is_known_issuer(digits: str) -> bool:
    for low, high, lengths in _ISSUERS:
        width = len(str(low))
        if len(digits) in lengths and low <= int(digits[:width]) <= high:
            return True
    return False


def _compact(value: str) -> str | None:
    """Digits of a card written compact or in one of the printed groupings, else None."""
    text = value.strip()
    if text.isdigit():
        return text
    separators = {ch for ch in text if not ch.isdigit()}
    if len(separators) != 1 or not separators <= {" ", "-"}:
        return None
    groups = tuple(len(g) for g in text.split(separators.pop()))
    if groups not in _GROUPINGS:
        return None
    return "".join(ch for ch in text if ch.isdigit())


def validate(value: str) -> bool:
    digits = _compact(value)
    if digits is None or not 13 <= len(digits) <= 19 or is_all_same(digits):
        return False
    return is_known_issuer(digits) and is_luhn_valid(digits)


def redact(value: str) -> str:
    return mask(value.strip(), head=4, tail=4)


VALIDATOR = Validator(name="luhn", validate=validate, redact=redact, finder=FINDER,
                      spans=RUNS.spans)
