"""``.dlpd-label``: a dataset's label written as a file, for researchers without a shell
on the file server (they write through NFS and cannot reach the daemon's socket). Pure.

    label = "export-controlled"          # or a list: ["export-controlled", "cui"]
    note = "EAR 9E003, project K-17"     # optional

Whoever can write a directory can write this file, and the daemon reads it with
privilege, so it is bounded (``MAX_MARKER_BYTES``) and parsed strictly: any other key, a
wrong type or a name that is not a label name is an error that says which.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from dlpd.errors import LabelError
from dlpd.labelling.model import is_label_name

MARKER_NAME = ".dlpd-label"
MAX_MARKER_BYTES = 4096
MAX_NOTE = 1000
MAX_LABELS = 16


@dataclass(frozen=True, slots=True)
class Marker:
    labels: tuple[str, ...]
    note: str = ""


def parse_marker(data: bytes) -> Marker:
    """The marker in ``data`` (the file's bytes); LabelError naming what is wrong."""
    if len(data) > MAX_MARKER_BYTES:
        raise LabelError(f"{MARKER_NAME}: larger than {MAX_MARKER_BYTES} bytes")
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise LabelError(f"{MARKER_NAME}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise LabelError(f"{MARKER_NAME}: not TOML ({exc})") from None
    unknown = sorted(set(doc) - {"label", "note"})
    if unknown:
        raise LabelError(f"{MARKER_NAME}: unknown key {unknown[0]!r} (expected label, note)")
    raw = doc.get("label")
    if raw is None:
        raise LabelError(f"{MARKER_NAME}: no label (write label = \"NAME\")")
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise LabelError(f"{MARKER_NAME}: label must be a name or a non-empty list of names")
    if len(names) > MAX_LABELS:
        raise LabelError(f"{MARKER_NAME}: more than {MAX_LABELS} labels")
    for name in names:
        if not is_label_name(name):
            raise LabelError(f"{MARKER_NAME}: {name!r} is not a label name (lower-case "
                             "letters, digits, '.', '_', '-')")
    note = doc.get("note", "")
    if not isinstance(note, str):
        raise LabelError(f"{MARKER_NAME}: note must be a string")
    if len(note) > MAX_NOTE:
        raise LabelError(f"{MARKER_NAME}: note longer than {MAX_NOTE} characters")
    return Marker(tuple(dict.fromkeys(names)), note)
