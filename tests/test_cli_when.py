"""`--since`/`--until`: what analysts type, against a fixed clock and zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dlpd.cli.when import parse_when

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
# 2026-11-30 15:30:00 in Tokyo.
NOW = datetime(2026, 11, 30, 15, 30, tzinfo=TOKYO).timestamp()


def _tokyo(*fields: int) -> float:
    return datetime(*fields, tzinfo=TOKYO).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(("text", "expected"), [
    ("2h", NOW - 7200),
    ("90m", NOW - 5400),
    ("90min", NOW - 5400),
    ("30s", NOW - 30),
    ("7d", NOW - 7 * 86400),
    ("1w", NOW - 7 * 86400),
    ("1.5h", NOW - 5400),
    ("2h ago", NOW - 7200),
    (" 2H ", NOW - 7200),
    ("now", NOW),
    ("today", _tokyo(2026, 11, 30)),
    ("Yesterday", _tokyo(2026, 11, 29)),
    ("2026-11-01", _tokyo(2026, 11, 1)),
    ("2026-11-30T08:00", _tokyo(2026, 11, 30, 8)),
    ("2026-11-30 08:00:30", _tokyo(2026, 11, 30, 8, 0, 30)),
    ("2026-11-30T08:00+00:00", datetime(2026, 11, 30, 8, tzinfo=ZoneInfo("UTC")).timestamp()),
    ("2026-11-30T08:00:00Z", datetime(2026, 11, 30, 8, tzinfo=ZoneInfo("UTC")).timestamp()),
    ("2026-11-30T08:00:00.250-05:00",
     datetime(2026, 11, 30, 13, 0, 0, 250000, tzinfo=ZoneInfo("UTC")).timestamp()),
])
def test_accepted_forms(text: str, expected: float) -> None:
    assert parse_when(text, NOW, TOKYO) == pytest.approx(expected)


def test_yesterday_across_a_dst_change_is_local_midnight() -> None:
    # 2026-11-02 12:00 in New York; DST ended at 02:00 on 2026-11-01 (a 25-hour day).
    now = datetime(2026, 11, 2, 12, tzinfo=NEW_YORK).timestamp()
    assert parse_when("yesterday", now, NEW_YORK) == \
        datetime(2026, 11, 1, tzinfo=NEW_YORK).timestamp()
    assert now - parse_when("yesterday", now, NEW_YORK) == 37 * 3600


@pytest.mark.parametrize("text", [
    "", "last tuesday", "2", "h", "-2h", "2 hours", "2026-13-01", "2026-11-31",
    "30/11/2026", "2026-11-30T25:00", "tomorrow", "2h later",
])
def test_rejected_forms_name_the_accepted_ones(text: str) -> None:
    with pytest.raises(ValueError, match="yesterday") as info:
        parse_when(text, NOW, TOKYO)
    assert repr(text) in str(info.value)


def test_system_zone_when_none_is_given() -> None:
    now = 1_800_000_000.0
    assert parse_when("today", now) == datetime.fromtimestamp(now).replace(
        hour=0, minute=0, second=0, microsecond=0).timestamp()
