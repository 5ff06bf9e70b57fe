"""Canonical cells: the form a value takes before it is hashed, so that the same datum
written by another program matches. NFKC, casefold, invisible characters dropped;
numbers as a spreadsheet keeps them (72.40 -> 72.4, 1,234.5 and 1.234,5 alike); dates as
ISO (2026-11-02, 02/11/2026, 2 Nov 2026). Cells that say nothing about where a row came
from (placeholders, booleans, spreadsheet errors) have no canonical form. Pure: standard
library only.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

MAX_CELL_CHARS = 512  # longer cells are cut before canonicalisation (bounds its cost)
_SIGNIFICANT = 15  # digits a spreadsheet keeps of a float: 72.400000000000006 is 72.4
_MAX_EXPONENT_DIGITS = 3
_PLAIN_RANGE = range(-20, 21)  # adjusted exponents written without an exponent


_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# Cells that say nothing about where a row came from: placeholders, booleans, errors.
_NO_EVIDENCE = frozenset({
    "", "-", "--", "---", "\u2014", "\u2013", "n/a", "na", "n.a.", "null", "none", "nan",
    "nil", "?", "true", "false", "yes", "no", "#n/a", "#div/0!", "#value!", "#ref!",
    "#name?", "#num!", "#null!",
})
_US_NUMBER = re.compile(
    r"([+-]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?)(?:\.([0-9]+))?(?:e([+-]?[0-9]+))?"
)
_EU_NUMBER = re.compile(r"([+-]?)([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),([0-9]+)")
_ISO_DATE = re.compile(
    r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})"
    r"(?:[t ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?)?"
)
_DMY_DATE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
_NAMED_DMY = re.compile(r"([0-9]{1,2})\.?[ -]([a-z]{3,9})\.?[ -],?\s?([0-9]{4})")
_NAMED_MDY = re.compile(r"([a-z]{3,9})\.? ([0-9]{1,2}),? ([0-9]{4})")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")), 1)
    for name in names
}


def canonical_cell(value: str) -> str | None:
    """The form of a cell that survives CSV, spreadsheets and locales; None when the cell
    carries no evidence (empty, a placeholder, a boolean, a single character).

    Text: zero-width characters and soft hyphens dropped, NFKC, casefold, whitespace
    trimmed and collapsed. Numbers: 72.40 -> 72.4, 1,234.5 -> 1234.5, 1.234,5 and 72,4
    (a decimal comma: a comma not followed by exactly three digits, or after dot groups)
    -> 1234.5 and 72.4, 1e3 -> 1000, -0 -> 0, leading zeros dropped (a spreadsheet drops
    them too), fractions rounded to 15 significant digits (a spreadsheet's float); 1,234
    is one thousand two hundred and thirty-four. Dates to ISO 8601: 2026/11/02, 2.11.2026
    (day first, as dots are written), 2 Nov 2026, Nov 2, 2026; d/m/y with a slash or dash
    only when unambiguous (a part over 12, or both parts equal), else kept as dd/mm/yyyy
    zero-padded, so the same text still meets itself.
    """
    text, _ = canonical(value)
    return text


def canonical(value: str) -> tuple[str | None, bool]:
    """(canonical cell, is a number or a date)."""
    text = _fold(value[:MAX_CELL_CHARS])
    if text in _NO_EVIDENCE:
        return None, False
    typed = _number(text) or _date(text)
    if typed is not None:
        text = typed
    if len(text) <= 1:
        return None, False
    return text, typed is not None


def _fold(value: str) -> str:
    if value.isascii():
        # NFKC leaves ASCII alone and casefold is lower(): the common cell, in a tenth of
        # the time.
        return " ".join(value.lower().split())
    text = value.translate(_INVISIBLE)
    # casefold can leave text that NFKC changes again (and the other way round): go to
    # the fixed point, so that canonical_cell is idempotent.
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        folded = " ".join(folded.split())
        if folded == text:
            break
        text = folded
    return text


def _number(text: str) -> str | None:
    parts = _number_parts(text)
    if parts is None:
        return None
    sign, whole, fraction, exponent = parts
    try:
        number = Decimal(f"{sign}{whole or '0'}.{fraction or '0'}e{exponent or '0'}")
    except InvalidOperation:
        return None
    if number.is_zero():
        return "0"
    if fraction is None and exponent is None:
        # An integer keeps every digit: a long identifier is not a float.
        return f"{'-' if sign == '-' else ''}{int(whole)}"
    number = Context(prec=_SIGNIFICANT, rounding=ROUND_HALF_EVEN).plus(number).normalize()
    return format(number, "f" if number.adjusted() in _PLAIN_RANGE else "e")


def _number_parts(text: str) -> tuple[str, str, str | None, str | None] | None:
    """(sign, integer digits, fraction digits, exponent) of a number in either notation."""
    if not text or not (text[0].isdigit() or text[0] in "+-."):
        return None
    m = _US_NUMBER.fullmatch(text)
    if m is not None and (m[2] or m[3]):
        exponent = m[4]
        if exponent is not None and len(exponent.lstrip("+-")) > _MAX_EXPONENT_DIGITS:
            return None  # 1e999999 would be a megabyte of zeros
        return m[1], m[2].replace(",", ""), m[3], exponent
    m = _EU_NUMBER.fullmatch(text)
    if m is None:
        return None
    return m[1], m[2].replace(".", ""), m[3], None


def _date(text: str) -> str | None:
    if not text[:1].isalnum():
        return None
    m = _ISO_DATE.fullmatch(text)
    if m is not None:
        return _iso_date_time(m)
    m = _DMY_DATE.fullmatch(text)
    if m is not None:
        return _numeric_date(int(m[1]), int(m[3]), int(m[4]), day_first=m[2] == ".")
    m = _NAMED_DMY.fullmatch(text)
    if m is not None and m[2] in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[2]], int(m[1]))
    m = _NAMED_MDY.fullmatch(text)
    if m is not None and m[1] in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[1]], int(m[2]))
    return None


def _numeric_date(first: int, second: int, year: int, *, day_first: bool) -> str | None:
    """d/m/y or m/d/y: ISO when only one reading is a date or both read the same."""
    if day_first or first > 12 or first == second:
        return _iso(year, second, first)
    if second > 12:
        return _iso(year, first, second)
    return f"{first:02d}/{second:02d}/{year}"  # ambiguous: kept, zero-padded


def _iso_date_time(m: re.Match[str]) -> str | None:
    day = _iso(int(m[1]), int(m[2]), int(m[3]))
    if day is None or m[4] is None:
        return day
    hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
    if hour > 23 or minute > 59 or second > 60:
        return None
    fraction = (m[7] or "").rstrip("0")
    return f"{day}t{hour:02d}:{minute:02d}:{second:02d}" + (f".{fraction}" if fraction else "")


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
