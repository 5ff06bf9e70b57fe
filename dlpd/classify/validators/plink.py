"""PLINK 1 text filesets: the ``.fam`` sample table (and ``.ped``), the ``.bim`` variant map.

Neither has a header or a magic number, so both are recognised by their rows, from the
start of the buffer (the finders are anchored at ``\\A``: sre tries them once, so they
cost nothing on the many text buffers the rules' cheap triggers let through). Either the
whole buffer is rows (a small study has a handful of samples), or its first ``ROWS``
rows are and the next line is one too.

``.fam``: family id, sample id, father, mother, sex (0/1/2), phenotype: one line per
person, with sex and often case/control status; a ``.ped`` (``plink --recode``) is the
same six fields followed by the person's genotype calls. ``.bim``: chromosome, variant id,
centimorgans, base-pair position, two allele codes. A UCSC BED6 line (chrom, start, end,
name, score, strand) has the same six fields; its strand is no allele.
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator

ROWS = 20

_WS = rb"[ \t]++"  # possessive: a run of blanks is never given back
_TOKEN = rb"[^\s]{1,64}"
_NUMBER = rb"-?[0-9]{1,12}(?:\.[0-9]{1,12})?(?:[eE][+-]?[0-9]{1,3})?"
_END = rb"[ \t]*\r?\n"
_FAM_ROW = (
    _TOKEN + _WS + _TOKEN + _WS + _TOKEN + _WS + _TOKEN + _WS + rb"[012]" + _WS
    + rb"(?:" + _NUMBER + rb"|NA)"
    # a .ped row goes on with the person's calls: two one-letter allele codes per variant
    # (ACGT, 1/2, A/B from --dummy, 0 missing)
    + rb"(?:" + _WS + rb"[A-Za-z0-9]" + _WS + rb"[A-Za-z0-9])*+" + _END
)  # fmt: skip
_BIM_ROW = (
    rb"[A-Za-z0-9_.]{1,32}" + _WS + _TOKEN + _WS + _NUMBER + _WS + rb"[0-9]{1,10}" + _WS
    + rb"[A-Za-z0-9*<>:._\-\[\]]{1,255}" + _WS + rb"[A-Za-z0-9*<>:._\-\[\]]{1,255}" + _END
)  # fmt: skip


def _rows(row: bytes) -> re.Pattern[bytes]:
    """Up to ROWS rows from the start, then another row or the end of the buffer."""
    count = str(ROWS).encode()
    return re.compile(rb"\A(?:" + row + rb"){1," + count + rb"}+(?=" + row + rb"|\s*\Z)")


FAM_FINDER = _rows(_FAM_ROW)
BIM_FINDER = _rows(_BIM_ROW)


def validate_fam(value: str) -> bool:
    rows = [line.split() for line in value.splitlines() if line.strip()]
    samples = {(row[0], row[1]) for row in rows}
    founders = sum(1 for row in rows if row[2] == "0" and row[3] == "0")
    # Every pedigree has founders, and a number table whose columns happen to fit has
    # no "0 0" parents; PLINK refuses a fileset with a sample listed twice.
    return founders >= 1 and len(samples) == len(rows)


def validate_bim(value: str) -> bool:
    rows = [line.split() for line in value.splitlines() if line.strip()]
    lettered = sum(1 for row in rows if any(ch.isalpha() for ch in row[4] + row[5]))
    # Alleles are letters (ACGT, A/B from --dummy, <DEL>); "0" only where one is missing.
    return 2 * lettered >= len(rows)


def redact(value: str) -> str:
    rows = sum(1 for line in value.splitlines() if line.strip())
    return f"{rows} rows"


FAM_VALIDATOR = Validator(name="plink_fam", validate=validate_fam, redact=redact, finder=FAM_FINDER)
BIM_VALIDATOR = Validator(name="plink_bim", validate=validate_bim, redact=redact, finder=BIM_FINDER)
