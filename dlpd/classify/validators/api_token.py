"""Vendor API tokens (GitHub, GitLab, Slack, Stripe, Hugging Face, OpenAI ...): real or filler?

The rules' regexes pin the vendor prefix and length; what is left to reject are the
stand-ins that documentation and sample configs use: ``ghp_xxxx...``, ``hf_your_token``,
``...EXAMPLE...``, alphabet runs. gitleaks asks for a Shannon entropy of 3 bits per char on
the same tokens; the same floor is used here, on the part after the vendor prefix.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from dlpd.classify.validators.base import Validator

# Vendor prefixes are public and say which vendor to call about a leak; longest first.
PREFIXES: tuple[str, ...] = tuple(
    sorted(
        (
            "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-",
            "glrt-", "glptt-", "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxo-", "xoxe-",
            "hooks.slack.com/services/", "hooks.slack.com/workflows/",
            "hooks.slack.com/triggers/", "AIza", "sk_live_", "rk_live_", "hf_", "sk-proj-",
            "sk-svcacct-", "sk-admin-", "sk-ant-api03-", "sk-ant-admin01-", "sk-",
            "AccountKey=", "npm_", "pypi-", "api_org_", "r8_", "gsk_", "xai-", "lsv2_pt_",
            "lsv2_sk_", "pcsk_", "pplx-", "dapi",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip

_FILLER = re.compile(
    r"example|sample|dummy|placeholder|redacted|changeme|your[_-]?|xxxx|0000000|\*\*\*|\.\.\.",
    re.IGNORECASE,
)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_SEQUENCES = (_ALPHABET, _ALPHABET.upper(), "0123456789")
MIN_ENTROPY = 3.0


def split_prefix(value: str) -> tuple[str, str]:
    for prefix in PREFIXES:
        if value.startswith(prefix):
            return prefix, value[len(prefix) :]
    return "", value


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def has_sequence(text: str, length: int = 6) -> bool:
    """True when ``text`` holds ``length`` consecutive letters or digits in order ("abcdef")."""
    return any(
        seq[i : i + length] in text for seq in _SEQUENCES for i in range(len(seq) - length + 1)
    )


def validate(value: str) -> bool:
    _, secret = split_prefix(value.strip())
    if _FILLER.search(secret) or has_sequence(secret):
        return False
    return shannon_entropy(secret) >= MIN_ENTROPY


def redact(value: str) -> str:
    prefix, secret = split_prefix(value.strip())
    return prefix + "*" * 8 + secret[-2:] if len(secret) > 8 else prefix + "*" * 8


VALIDATOR = Validator(name="api_token", validate=validate, redact=redact)
