"""Query strings of the labels, access and summary pages, read and written so that a
path keeps its exact bytes.

Starlette decodes a query string as UTF-8 with replacement characters, which would turn
a file name that is not UTF-8 into another name. Here the raw query string is decoded
with ``surrogateescape`` (the ``os.fsdecode`` convention every dlpd path follows) and
URLs are built from ``os.fsencode`` bytes, so a link to a path finds that path again.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request

MAX_FIELDS = 200  # a query string with more is not a person's search


class Query:
    """The request's query parameters, decoded byte-exactly (see the module docstring)."""

    __slots__ = ("_items",)

    def __init__(self, request: Request) -> None:
        raw = request.scope.get("query_string", b"").decode("latin-1")
        self._items = parse_qsl(raw, keep_blank_values=True, encoding="utf-8",
                                errors="surrogateescape", max_num_fields=MAX_FIELDS)

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, str]]) -> Query:
        """The same reading over fields already decoded (a posted form's)."""
        made = cls.__new__(cls)
        made._items = list(pairs)[:MAX_FIELDS]
        return made

    def get(self, name: str) -> str:
        """The first non-blank value of ``name``, stripped of surrounding spaces; ""."""
        return next((v.strip() for k, v in self._items if k == name and v.strip()), "")

    def all(self, name: str) -> tuple[str, ...]:
        """Every non-blank value of ``name`` (a repeated field or checkboxes), in order,
        each once; comma-separated values are split."""
        found: list[str] = []
        for k, v in self._items:
            if k == name:
                found += [p.strip() for p in v.split(",") if p.strip()]
        return tuple(dict.fromkeys(found))

    def before(self) -> int | None:
        """The keyset cursor ``before=ID``: only rows older (smaller id) than it."""
        raw = self.get("before")
        return int(raw) if raw.isdigit() and len(raw) < 19 else None

    def days(self, default: int, most: int) -> int:
        raw = self.get("days")
        return min(max(int(raw), 1), most) if raw.isdigit() and len(raw) < 6 else default


def day_start(text: str) -> float | None:
    """``YYYY-MM-DD`` (or a ``datetime-local`` value) as local unix time; None if blank
    or not a date."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when.timestamp()


def day_end(text: str) -> float | None:
    """The end of the day ``YYYY-MM-DD`` (exclusive bound: an "until" date includes that
    day); a ``datetime-local`` value as it is."""
    start = day_start(text)
    if start is None or "T" in text or " " in text.strip():
        return start
    return (dt.datetime.fromtimestamp(start) + dt.timedelta(days=1)).timestamp()


def url(path: str, params: Mapping[str, str | Sequence[str] | None]) -> str:
    """``path`` with ``params`` as a query string; blank values left out; a value that
    is a path keeps its exact bytes (surrogate escapes become the original bytes)."""
    pairs: list[tuple[str, bytes]] = []
    for name, value in params.items():
        values = [value] if isinstance(value, str) or value is None else list(value)
        pairs += [(name, os.fsencode(v)) for v in values if v]
    return path + ("?" + urlencode(pairs) if pairs else "")
