"""Japanese Individual Numbers (個人番号, "My Number"): 12 digits with a check digit.

The check digit is the one the Ministry of Internal Affairs' ordinance defines:
Q = sum(P_n * W_n) over the 11 leading digits, P_n counted from the right, W_n = n+1 for
n <= 6 and n-5 for n >= 7, i.e. weights 6,5,4,3,2,7,6,5,4,3,2 from the left; the check
digit is 0 when Q mod 11 <= 1, else 11 - (Q mod 11).

Because remainders 0 and 1 both give check digit 0, a single changed digit that moves the
remainder between 0 and 1 is not caught: the scheme detects most, not all, typos.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator

# Opens with a digit class, then looks behind (see luhn.FINDER: faster in sre).
# Letters around the digits (hex hashes, UUIDs, base64) are no My Number, and neither are
# twelve digits cut out of a longer run of groups: "4111 1111 1111 1111" (a card) or
# "3704 0044 0532 0130" (an IBAN) held "valid" My Numbers.
FINDER = re.compile(
    rb"[0-9](?<![0-9A-Za-z][0-9])(?<![0-9][ -][0-9])[0-9]{3}([ -]?)[0-9]{4}\1[0-9]{4}"
    rb"(?![0-9A-Za-z]|[ -][0-9])"
)

_SHAPE = re.compile(r"[0-9]{4}([ -]?)[0-9]{4}\1[0-9]{4}")
_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def check_digit(body: str) -> str:
    """The check digit of the 11 leading digits ``body``."""
    remainder = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11
    return "0" if remainder <= 1 else str(11 - remainder)


def validate(value: str) -> bool:
    text = value.strip()
    if _SHAPE.fullmatch(text) is None:
        return False
    digits = text.replace("-", "").replace(" ", "")
    # All zeros passes the arithmetic but is never issued.
    if digits == "0" * 12:
        return False
    return check_digit(digits[:11]) == digits[11]


def redact(value: str) -> str:
    text = value.strip()
    return "".join("*" if ch.isdigit() else ch for ch in text[:-4]) + text[-4:]


VALIDATOR = Validator(name="mynumber", validate=validate, redact=redact, finder=FINDER)
