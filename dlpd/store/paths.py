"""Paths in the store: keyed by their exact bytes, shown by their display form.

A Linux file name is bytes. Inside dlpd a path is the ``str`` that ``os.fsdecode`` gives
(undecodable bytes are lone surrogates, so nothing is lost); the store keeps those exact
bytes in a ``path_key`` BLOB column, which every lookup, upsert and prefix range uses, and
the readable ``display_path`` beside it for people and for SQL written by hand. The display
form is never turned back into a name: ``d\\xff.txt`` (backslash, x, f, f) and ``d`` + byte
0xff + ``.txt`` are two files with two keys and the same display.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import ColumnElement, or_

from dlpd.model import display_path

__all__ = ["display_path", "key", "real", "under"]


def key(path: str) -> bytes:
    """The exact bytes of ``path`` (a str from ``os.fsdecode``)."""
    return os.fsencode(path)


def real(raw: bytes | memoryview) -> str:
    """The path whose key is ``raw``: what the file system is called with."""
    return os.fsdecode(bytes(raw))


def under(column: ColumnElement[Any], root: str) -> ColumnElement[bool]:
    """``column`` (a path key) is ``root`` or lies below it: a range on the key's index.

    '/' is 0x2F and '0' is 0x30, so every key below ``root/`` sorts in [root/, root0);
    bytes compare with memcmp in SQLite (BLOB) and PostgreSQL (bytea) alike.
    """
    prefix = key(root.rstrip("/") or "/")
    if prefix == b"/":
        return column >= b"/"
    return or_(column == prefix, (column >= prefix + b"/") & (column < prefix + b"0"))
