"""Which extractor a buffer needs, from its first bytes. Pure: no I/O, no libmagic.

libmagic names types for people; the scanner only needs to know "is this a container we
open", and a prefix check answers that for every buffer at no cost.
"""

from __future__ import annotations

import re

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty zip: opened anyway so that it is not "unknown"
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # .doc .xls .ppt .msg
    (b"SQLite format 3\x00", "sqlite"),
    (b"PAR1", "parquet"),
    (b"ARROW1\x00\x00", "arrow"),  # Arrow IPC file = Feather v2
    (b"FEA1", "arrow"),  # Feather v1
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"II*\x00", "image"),  # TIFF, little-endian
    (b"MM\x00*", "image"),  # TIFF, big-endian
    (b"\xff\xd8\xff", "image"),  # JPEG
)

# A Jupyter notebook: a JSON object whose first keys are nbformat's ("cells" first, as
# Jupyter writes them sorted; "metadata"/"worksheets" in nbformat 3; "nbformat" or
# "nbformat_minor" from writers that put the version first), with a cell or the format's
# name in the head.
_NOTEBOOK = re.compile(
    rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"(?:cells|metadata|nbformat(?:_minor)?|worksheets)"\s*:')
# JSON (or JSON Lines): an object or array that opens with a string, a nested value or
# its end. Strings in it may hide content behind escapes ("\n", "\u0041").
_JSON = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*[\[{]\s*["\[{\]}]')


_MAIL_HEADER = re.compile(
    rb"(?:Return-Path|Received|Delivered-To|From|Date|Message-I[Dd]|MIME-Version|Subject|To"
    rb"|X-[A-Za-z0-9-]+|DKIM-Signature|ARC-[A-Za-z-]+|Authentication-Results):[ \t]"
)


def is_encoded_mail(head: bytes) -> bool:
    """A message (or mbox) whose content needs decoding: header lines first, and base64,
    quoted-printable or encoded words. Plain mail is matched as the text it is."""
    if not (head.startswith(b"From ") or _MAIL_HEADER.match(head)):
        return False
    lowered = head.lower()
    return (
        b"content-transfer-encoding: base64" in lowered
        or b"content-transfer-encoding: quoted-printable" in lowered
        or b"=?" in head
    )


def sniff_kind(head: bytes) -> str | None:
    """``zip|gzip|bzip2|xz|ole|tar|mail|pdf|sqlite|parquet|arrow|image|notebook|json``
    for containers and documents dlpd opens, else None."""
    for prefix, kind in _PREFIXES:
        if head.startswith(prefix):
            return kind
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if is_encoded_mail(head):
        return "mail"
    # PDF readers accept the header anywhere in the first KiB (and so do attackers).
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return _json_kind(head)


def _json_kind(head: bytes) -> str | None:
    if _NOTEBOOK.match(head) and (b'"cell_type"' in head or b'"nbformat"' in head):
        return "notebook"
    return "json" if _JSON.match(head) else None
