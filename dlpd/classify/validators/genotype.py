"""Consumer genotype exports: 23andMe, AncestryDNA, MyHeritage/FamilyTreeDNA, Living DNA.

A raw-data download is one call per line: ``rs548049170<TAB>1<TAB>69869<TAB>TT``
(23andMe, Living DNA, PLINK's ``--recode 23``), ``rs...<TAB>1<TAB>69869<TAB>T<TAB>T``
(AncestryDNA: two allele columns, chromosomes 23-26 for X, Y, XY and MT) or
``"rs...","1","69869","TT"`` (MyHeritage, FamilyTreeDNA). A comment block and a header
line open the file, or nothing does when someone cut an extract out of it.

The finder is anchored at the start of the buffer (sre checks ``\\A`` once, so it costs
nothing on the many buffers the rule's cheap trigger lets through): any ``#`` comment
lines, at most one header line of any wording, then ``ROWS`` calls in a row. That
threshold is what tells data from a look-alike: a README, help page or tutorial quotes a
handful of rows (the vendors' help pages show five, ``head`` shows ten lines, most of them
comments); twenty consecutive calls are more than any quoted example, and a few dozen
independent SNPs already single out one person (Lin, Owen & Altman, Science 2004).

The validator then asks what a person's genotype looks like and a variant list does not:
autosomal calls are diploid, and some calls are homozygous (most are, in real data; a list
of reference/alternate alleles never is).
"""

from __future__ import annotations

import re

from dlpd.classify.validators.base import Validator

ROWS = 20
# Most array SNPs are homozygous in any one person (about two thirds); a list of
# reference/alternate alleles has none. Two in twenty keeps even a random test genotype.
MIN_HOMOZYGOUS = 2
MIN_CALLED = ROWS // 2

_Q = rb'"?'
_SEP = rb"(?:\t|,|;| ++)"  # possessive: a run of spaces is never given back
_ID = rb"[A-Za-z][A-Za-z0-9_:.\-]{0,63}"
_CHR = rb"(?:chr)?(?:1[0-9]|2[0-6]|[1-9]|XY|X|Y|MT|M)"
_POS = rb"[0-9]{1,10}"
_ALLELE = rb"[ACGTDIN0\-]"
_END = rb"\r?\n"
# Two allele columns (AncestryDNA) are tried before one genotype column (everyone else).
_CALL = (
    rb"(?:" + _ALLELE + _Q + _SEP + _Q + _ALLELE + _Q + _END
    + rb"|" + _ALLELE + rb"{1,2}" + _Q + _END + rb")"
)  # fmt: skip
_ROW = _Q + _ID + _Q + _SEP + _Q + _CHR + _Q + _SEP + _Q + _POS + _Q + _SEP + _Q + _CALL

FINDER = re.compile(
    rb"\A(?:\xef\xbb\xbf)?"
    rb"(?:#[^\n]{0,1000}\n){0,1000}+"  # the vendor's comment block (23andMe: about 20 lines)
    rb"(?:[^\n]{0,300}\n)?"  # one header line, whatever its wording
    rb"(?:" + _ROW + rb"){" + str(ROWS).encode() + rb"}"
)

_FIELDS = re.compile(
    r'^"?[^\s",;]+"?'
    + _SEP.decode()
    + r'"?(?:chr)?([0-9XYMT]+)"?'
    + _SEP.decode()
    + r'"?[0-9]+"?'
    + _SEP.decode()
    + r"(.*)$"
)
_AUTOSOMES = frozenset(str(n) for n in range(1, 23))
_MISSING = frozenset("-0N")


def _call(rest: str) -> str:
    """The genotype column(s) of one row as one string of alleles: ``"T\\t\\"T\\""`` -> TT."""
    return "".join(ch for ch in rest if ch in "ACGTDIN0-")


def validate(value: str) -> bool:
    rows = value.splitlines()[-ROWS:]
    homozygous = called = 0
    for row in rows:
        fields = _FIELDS.match(row.strip())
        if fields is None:
            return False
        chromosome, call = fields[1], _call(fields[2])
        if chromosome in _AUTOSOMES and len(call) != 2:
            return False  # an autosome has two copies: one letter is an allele, not a call
        if any(allele in _MISSING for allele in call):
            continue
        called += 1
        homozygous += len(set(call)) == 1
    return called >= MIN_CALLED and homozygous >= MIN_HOMOZYGOUS


def redact(value: str) -> str:
    # A call is the person's genotype: nothing of it goes into a preview.
    return f"{ROWS} genotype calls"


VALIDATOR = Validator(name="genotype_calls", validate=validate, redact=redact, finder=FINDER)
