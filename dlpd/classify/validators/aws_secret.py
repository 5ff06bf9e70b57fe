"""AWS secret access keys: 40 base64 characters after a secret-key name.

``.aws/credentials`` (``aws_secret_access_key``), ``.s3cfg`` (``secret_key``), rclone
(``secret_access_key``), environment files and JSON (``"SecretAccessKey"``) name the key.
The rule grabs up to 41 characters so that a longer value (a Django ``SECRET_KEY``, a
hash) is rejected here for its length. A generated key mixes upper case, lower case and
digits; hex digests and words do not. AWS's documentation key
(``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``) is rejected for its EXAMPLE.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.api_token import shannon_entropy
from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import is_placeholder

_VALUE = re.compile(r"[A-Za-z0-9/+]+$")
_KEY = re.compile(r"[A-Za-z_]+")
KEY_LENGTH = 40
MIN_ENTROPY = 4.0


def validate(value: str) -> bool:
    match = _VALUE.search(value.strip())
    if match is None or len(match.group()) != KEY_LENGTH:
        return False
    secret = match.group()
    if is_placeholder(secret) or "EXAMPLE" in secret.upper():
        return False
    mixed = (any(c.isupper() for c in secret) and any(c.islower() for c in secret)
             and any(c.isdigit() for c in secret))  # fmt: skip
    return mixed and shannon_entropy(secret) >= MIN_ENTROPY


def redact(value: str) -> str:
    key = _KEY.match(value.strip())
    return f"{key.group() if key else 'secret_key'} = ********"


VALIDATOR = Validator(name="aws_secret", validate=validate, redact=redact)
