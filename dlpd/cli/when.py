"""Points in time as analysts type them (``--since``, ``--until``). Pure: standard library,
and the clock and time zone are arguments, so a test fixes both.

Accepted: an age (``90m``, ``2h``, ``7d``, ``1w``, optionally followed by ``ago``), ``now``,
``today``, ``yesterday`` (local midnight), an ISO date (``2026-11-30``: local midnight), an
ISO date-time with or without an offset (``2026-11-30T08:00``, ``...+09:00``, ``...Z``);
without an offset it is local time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

FORMS = "2h, 90m, 7d, 1w, today, yesterday, an ISO date (2026-11-30) or date-time"

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)(?:\s+ago)?")
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _local(moment: datetime, tz: tzinfo | None) -> float:
    """Unix time of a naive local ``moment`` (``tz`` None: the system's zone, DST included)."""
    return (moment if tz is None else moment.replace(tzinfo=tz)).timestamp()


def _midnight(day: date, tz: tzinfo | None) -> float:
    return _local(datetime.combine(day, time()), tz)


def parse_when(text: str, now: float, tz: tzinfo | None = None) -> float:
    """The unix time ``text`` names, relative to ``now`` (unix time) in zone ``tz`` (None:
    the system's). ``ValueError`` naming the accepted forms for anything else."""
    value = text.strip().lower()
    if m := _AGE.fullmatch(value):
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    today = (datetime.fromtimestamp(now) if tz is None else datetime.fromtimestamp(now, tz)).date()
    if value == "now":
        return now
    if value == "today":
        return _midnight(today, tz)
    if value == "yesterday":
        return _midnight(today - timedelta(days=1), tz)
    if _DATE.fullmatch(value):
        try:
            return _midnight(date.fromisoformat(value), tz)
        except ValueError:
            pass
    elif _DATE.match(value):
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            pass
        else:
            return moment.timestamp() if moment.tzinfo else _local(moment, tz)
    raise ValueError(f"expected {FORMS}; got {text!r}")
