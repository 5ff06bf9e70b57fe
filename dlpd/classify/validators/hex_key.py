"""Hexadecimal API keys that only their context identifies: W&B (40), Kaggle (32).

A 40-hex string alone is a git commit or a SHA-1 digest; the rules therefore match the
key only inside its tool's syntax (``wandb.login(key=...)``, ``WANDB_API_KEY=``, the
netrc entry for api.wandb.ai, ``kaggle.json``). Here the key itself must look generated:
not one repeated digit, no ``abcdef``/``012345`` runs, a mix of letters and digits. W&B
server keys carry a ``local-`` prefix before the same hex.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.api_token import shannon_entropy
from dlpd.classify.validators.base import Validator
from dlpd.classify.validators.placeholder import is_placeholder

_KEY = re.compile(r"(?P<prefix>local-)?(?P<hex>[0-9a-f]{32,40})(?![0-9a-f])")
MIN_ENTROPY = 3.0


def _key(value: str) -> re.Match[str] | None:
    matches = list(_KEY.finditer(value))  # the key is the last hex run of the match
    return matches[-1] if matches else None


def validate(value: str) -> bool:
    match = _key(value)
    if match is None:
        return False
    key = match.group("hex")
    if len(key) not in (32, 40) or is_placeholder(key):
        return False
    has_both = any(c.isdigit() for c in key) and any(c.isalpha() for c in key)
    return has_both and shannon_entropy(key) >= MIN_ENTROPY


def redact(value: str) -> str:
    match = _key(value)
    if match is None:
        return "********"
    return (match.group("prefix") or "") + "*" * 8 + match.group("hex")[-2:]


VALIDATOR = Validator(name="hex_key", validate=validate, redact=redact)
