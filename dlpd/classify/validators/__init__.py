"""Validators, found by the name a signature's ``meta: validator = "..."`` uses.

One module per validator; each is pure (standard library only, no I/O) and exports a
``Validator``. This module is the registry: add a module, add its validator here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dlpd.classify.validators import (
    api_token,
    aws,
    aws_secret,
    base64_pem,
    config_secret,
    docker_auth,
    genotype,
    hex_key,
    iban,
    luhn,
    mynumber,
    netrc,
    password,
    pem,
    pgpass,
    plink,
    sam,
    ssn,
    url_credential,
)
from dlpd.classify.validators.base import Validator, generic_redact

__all__ = ["REGISTRY", "Validator", "generic_redact", "get_validator"]

REGISTRY: Mapping[str, Validator] = MappingProxyType(
    {
        v.name: v
        for v in (
            luhn.VALIDATOR,
            ssn.VALIDATOR,
            ssn.UNFORMATTED_VALIDATOR,
            mynumber.VALIDATOR,
            iban.VALIDATOR,
            password.VALIDATOR,
            pem.VALIDATOR,
            aws.VALIDATOR,
            api_token.VALIDATOR,
            aws_secret.VALIDATOR,
            base64_pem.VALIDATOR,
            config_secret.VALIDATOR,
            docker_auth.VALIDATOR,
            hex_key.VALIDATOR,
            netrc.VALIDATOR,
            pgpass.VALIDATOR,
            url_credential.VALIDATOR,
            genotype.VALIDATOR,
            plink.FAM_VALIDATOR,
            plink.BIM_VALIDATOR,
            sam.VALIDATOR,
        )
    }
)


def get_validator(name: str) -> Validator:
    """The validator registered as ``name``; KeyError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown validator {name!r}; known validators: {known}") from None
