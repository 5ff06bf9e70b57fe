"""International Bank Account Numbers: the country's length, then ISO 7064 mod 97-10.

Lengths are those of the SWIFT IBAN registry (the same countries presidio's
``iban_patterns.py`` lists, plus the later members). The finder takes groups of four
greedily, so a spaced IBAN whose length is a multiple of four can arrive with the next
group of the line attached ("BE68 5390 0754 7034 2024"); the validator then also tries the
prefix that ends on a group boundary at the country's length.

The rule is keyword-only with this finder, like the card rule: a YARA regex opening with
the 87 country codes cost a quarter of the whole ruleset's scan time (2-byte atoms).
"""

from __future__ import annotations

import re
import string

from dlpd.classify.validators.base import Validator, mask

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# Country code, check digits, then groups of four (optionally spaced) and a short tail.
# It opens with a letter class and looks behind after it: sre then skips ahead quickly.
FINDER = re.compile(
    rb"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][0-9]{2}"
    rb"(?: ?[0-9A-Z]{4}){2,7}(?: ?[0-9A-Z]{1,4})?(?![A-Za-z0-9])"
)

_ALNUM = frozenset(string.digits + string.ascii_uppercase)
_LETTER_VALUES = {ord(ch): str(i) for i, ch in enumerate(string.digits + string.ascii_uppercase)}


def mod97(iban: str) -> int:
    """ISO 7064 MOD 97-10 of an IBAN written compact and upper-case (1 when valid)."""
    rearranged = (iban[4:] + iban[:4]).translate(_LETTER_VALUES)
    return int(rearranged) % 97


def check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country + digits + bban`` valid."""
    return f"{98 - mod97(country + '00' + bban):02d}"


def _is_valid_compact(iban: str) -> bool:
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is None or len(iban) != expected:
        return False
    if not iban[2:4].isdigit() or not set(iban) <= _ALNUM:
        return False
    return mod97(iban) == 1


def validate(value: str) -> bool:
    text = value.strip()
    compact = text.replace(" ", "")
    if _is_valid_compact(compact):
        return True
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) <= expected or " " not in text:
        return False
    prefix = ""
    for group in text.split(" "):
        prefix += group
        if len(prefix) >= expected:
            return len(prefix) == expected and _is_valid_compact(prefix)
    return False


def redact(value: str) -> str:
    return mask(value.strip(), head=4, tail=4, keep=" ")


VALIDATOR = Validator(name="iban", validate=validate, redact=redact, finder=FINDER)
