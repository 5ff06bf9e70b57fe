"""AWS access key IDs (AKIA..., ASIA... temporary): reject the documented examples.

AWS's own documentation uses ``AKIAIOSFODNN7EXAMPLE`` (and its secret
``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``) everywhere; an ID ending in EXAMPLE, or one
made of filler (``AKIAXXXXXXXXXXXXXXXX``), is documentation, not a key.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator, mask

_SHAPE = re.compile(r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}")
_FILLER = re.compile(r"EXAMPLE|XXXX|(.)\1{5}")


def validate(value: str) -> bool:
    text = value.strip()
    if _SHAPE.fullmatch(text) is None:
        return False
    return _FILLER.search(text[4:]) is None


def redact(value: str) -> str:
    # The four-letter prefix only says which kind of key it is.
    return mask(value.strip(), head=4, tail=2, keep="")


VALIDATOR = Validator(name="aws", validate=validate, redact=redact)
