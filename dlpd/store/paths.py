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
from typing import TYPE_CHECKING, Any

from dlpd.model import display_path

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

__all__ = ["display_path", "key", "real", "under", "under_sql"]


def key(path: str) -> bytes:
    """The exact bytes of ``path`` (a str from ``os.fsdecode``)."""
    return os.fsencode(path)


def real(raw: bytes | memoryview) -> str:
    """The path whose key is ``raw``: what the file system is called with."""
    return os.fsdecode(bytes(raw))


def _range(root: str) -> tuple[bytes, bytes, bytes] | None:
    """(root's key, the least key below it, the least key past them); None for "/".

    '/' is 0x2F and '0' is 0x30, so every key below ``root/`` sorts in [root/, root0);
    bytes compare with memcmp in SQLite (BLOB) and PostgreSQL (bytea) alike."""
    prefix = key(root.rstrip("/") or "/")
    return None if prefix == b"/" else (prefix, prefix + b"/", prefix + b"0")


def under(column: ColumnElement[Any], root: str) -> ColumnElement[bool]:
    """``column`` (a path key) is ``root`` or lies below it: a range on the key's index."""
    from sqlalchemy import or_  # noqa: PLC0415 - plain-SQL callers (under_sql) need none

    bounds = _range(root)
    if bounds is None:
        return column >= b"/"
    prefix, low, high = bounds
    return or_(column == prefix, (column >= low) & (column < high))


def under_sql(column: str, root: str) -> tuple[str, tuple[bytes, ...]]:
    """``under`` as plain SQL (``store.sql``): the clause on ``column`` and its values."""
    bounds = _range(root)
    if bounds is None:
        return f"{column} >= ?", (b"/",)
    return f"({column} = ? OR ({column} >= ? AND {column} < ?))", bounds
