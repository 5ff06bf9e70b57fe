"""A PEM private key stored base64-encoded: kubeconfig ``client-key-data``, Kubernetes
Secrets (``tls.key``), Helm values.

``LS0tLS1CRUdJTi`` is base64 of ``-----BEGIN``. The rule hands over the start of the
encoded run; it is decoded (a bounded prefix, cut to whole base64 quanta) and must read
as a private-key block, which the pem validator checks. Encoded certificates
(``client-certificate-data``, ``certificate-authority-data``) are rejected there.
"""

from __future__ import annotations

import base64
import binascii
import re

from dlpd.classify.validators import pem
from dlpd.classify.validators.base import Validator

_RUN = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]*")
_MAX_ENCODED = 512


def decoded_head(value: str) -> str | None:
    match = _RUN.search(value)
    if match is None:
        return None
    run = match.group()[:_MAX_ENCODED]
    run = run[: len(run) - len(run) % 4]
    try:
        return base64.b64decode(run, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None


def validate(value: str) -> bool:
    head = decoded_head(value)
    return head is not None and pem.validate(head)


def redact(value: str) -> str:
    head = decoded_head(value)
    return (pem.redact(head) if head is not None else "-----BEGIN PRIVATE KEY-----") + " (base64)"


VALIDATOR = Validator(name="base64_pem", validate=validate, redact=redact)
