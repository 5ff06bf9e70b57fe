"""SAM alignment records without a header (``samtools view`` prints none by default).

Eleven tab-separated mandatory fields with the types the SAM specification (section 1.4)
gives them, then optional ``TAG:TYPE:VALUE`` fields. The finder is anchored at ``\\A``
(sre tries it once): up to three records from the start, then another record or the end.
The validator checks what only an aligner writes consistently: the read as long as its
qualities, and as long as the query its CIGAR consumes.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator

_RNAME = rb"[0-9A-Za-z!#$%&+./:;?@^_|~\-][0-9A-Za-z!#$%&*+./:;=?@^_|~\-]{0,254}"
_RECORD = (
    rb"[!-?A-~]{1,254}\t[0-9]{1,5}\t(?:\*|" + _RNAME + rb")\t[0-9]{1,10}\t[0-9]{1,3}\t"
    rb"(?:\*|(?:[0-9]{1,9}[MIDNSHPX=]){1,1000}+)\t(?:\*|=|" + _RNAME + rb")\t"
    rb"[0-9]{1,10}\t-?[0-9]{1,10}\t(?:\*|[A-Za-z=.]++)\t[!-~]++"
    rb"(?:\t[A-Za-z][A-Za-z0-9]:[AifZHB]:[^\t\n]*+)*+\r?\n"
)
_NEXT = rb"[!-?A-~]{1,254}\t[0-9]{1,5}\t"
FINDER = re.compile(rb"\A(?:" + _RECORD + rb"){1,3}+(?=" + _NEXT + rb"|\s*\Z)")

_CIGAR_OP = re.compile(r"([0-9]+)([MIDNSHPX=])")
_CONSUMES_QUERY = frozenset("MIS=X")


def _is_consistent(fields: list[str]) -> bool:
    flag, mapq, cigar, seq, qual = int(fields[1]), int(fields[4]), fields[5], fields[9], fields[10]
    if flag > 0xFFFF or mapq > 255:
        return False
    if seq != "*" and qual != "*" and len(seq) != len(qual):
        return False
    if seq == "*" or cigar == "*":
        return True
    query = sum(int(n) for n, op in _CIGAR_OP.findall(cigar) if op in _CONSUMES_QUERY)
    return query == len(seq)


def validate(value: str) -> bool:
    records = [line.split("\t") for line in value.splitlines() if line.strip()]
    return bool(records) and all(_is_consistent(fields) for fields in records)


def redact(value: str) -> str:
    return f"{sum(1 for line in value.splitlines() if line.strip())} alignment records"


VALIDATOR = Validator(name="sam_records", validate=validate, redact=redact, finder=FINDER)
