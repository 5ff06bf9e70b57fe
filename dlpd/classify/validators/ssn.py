"""US Social Security numbers: the SSA's never-issued ranges and the famous fakes.

Rejected, as in presidio's ``UsSsnRecognizer.invalidate_result`` plus the SSA rules:
area 000, 666 and 900-999 (never issued; 9xx are ITINs), group 00, serial 0000, one
digit repeated, mixed separators, and numbers known to be samples: 078-05-1120 (the
Woolworth wallet card), 219-09-9999 (an SSA advertisement), 123-45-6789 and
111-22-3333 (the examples of countless docs and test suites).

Two finders, two rules: ``ssn`` finds the written forms (123-45-6789, 123 45 6789);
``ssn_unformatted`` finds bare 9-digit runs, which are everywhere (zip+4, order numbers),
so its rule sets ``require_keyword`` and only runs that sit next to "SSN" count.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator, is_all_same

# A space-separated form must not be a slice of a longer run of spaced digit groups.
# Patterns open with a digit class, then look behind (see luhn.FINDER: faster in sre).
# Letters around the digits (hex hashes, UUIDs, base64) are no SSN either.
FORMATTED_FINDER = re.compile(
    rb"[0-9](?<![0-9A-Za-z][0-9])"
    rb"(?:[0-9]{2}-[0-9]{2}-[0-9]{4}(?![0-9A-Za-z]|-[0-9])"
    rb"|(?<![0-9] [0-9])[0-9]{2} [0-9]{2} [0-9]{4}(?![0-9A-Za-z]| [0-9]))"
)
UNFORMATTED_FINDER = re.compile(rb"[0-9](?<![0-9A-Za-z][0-9])[0-9]{8}(?![0-9A-Za-z])")

_SHAPE = re.compile(r"[0-9]{3}([- ]?)[0-9]{2}\1[0-9]{4}")
_KNOWN_FAKES = frozenset({"078051120", "219099999", "123456789", "111223333"})


def validate(value: str) -> bool:
    text = value.strip()
    if _SHAPE.fullmatch(text) is None:
        return False
    digits = text.replace("-", "").replace(" ", "")
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9":
        return False
    if group == "00" or serial == "0000":
        return False
    return not is_all_same(digits) and digits not in _KNOWN_FAKES


def redact(value: str) -> str:
    text = value.strip()
    # Only the last four stay, the way SSA letters and payroll slips print them.
    return "".join("*" if ch.isdigit() else ch for ch in text[:-4]) + text[-4:]


VALIDATOR = Validator(name="ssn", validate=validate, redact=redact, finder=FORMATTED_FINDER)
UNFORMATTED_VALIDATOR = Validator(
    name="ssn_unformatted", validate=validate, redact=redact, finder=UNFORMATTED_FINDER
)
