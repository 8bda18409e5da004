"""Table tests for local time: slot edges, openings, DST (London, Cairo), midnight."""
from datetime import date, time, timedelta

import pytest
from helpers import local, utc

from scheduler.slots import (TimeSlot, day_start, inside, local_instant, next_opening, parse_range,
                             zone)

SLOT = TimeSlot("09-12", time(9), time(12))
KOLKATA = zone("Asia/Kolkata")


@pytest.mark.parametrize("t,expected", [
    (local("Asia/Kolkata", 2026, 3, 2, 8, 59), False),
    (local("Asia/Kolkata", 2026, 3, 2, 9, 0), True),          # start included
    (local("Asia/Kolkata", 2026, 3, 2, 11, 59), True),
    (local("Asia/Kolkata", 2026, 3, 2, 12, 0), False),        # end excluded
    (utc(2026, 3, 2, 3, 30), True),                           # 09:00 IST is 03:30 UTC
    (utc(2026, 3, 2, 3, 29), False),
])
def test_slot_edges(t, expected):
    assert inside(t, SLOT, KOLKATA) is expected


@pytest.mark.parametrize("tz,t,expected", [
    # before the slot: today at 09:00
    ("Asia/Kolkata", local("Asia/Kolkata", 2026, 3, 2, 7, 0), local("Asia/Kolkata", 2026, 3, 2, 9)),
    # inside: now
    ("Asia/Kolkata", local("Asia/Kolkata", 2026, 3, 2, 10, 0),
     local("Asia/Kolkata", 2026, 3, 2, 10)),
    # at the end (excluded): tomorrow 09:00
    ("Asia/Kolkata", local("Asia/Kolkata", 2026, 3, 2, 12, 0),
     local("Asia/Kolkata", 2026, 3, 3, 9)),
    # late evening: next morning
    ("Asia/Kolkata", local("Asia/Kolkata", 2026, 12, 31, 23, 0),
     local("Asia/Kolkata", 2027, 1, 1, 9)),
    # London, the night of the spring change (29 March 2026): 09:00 BST = 08:00 UTC
    ("Europe/London", utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 8, 0)),
    # London, the day before: 09:00 GMT = 09:00 UTC
    ("Europe/London", utc(2026, 3, 27, 12, 0), utc(2026, 3, 28, 9, 0)),
    # London, autumn change (25 October 2026): 09:00 GMT = 09:00 UTC, the day before 08:00 UTC
    ("Europe/London", utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 9, 0)),
    ("Europe/London", utc(2026, 10, 23, 12, 0), utc(2026, 10, 24, 8, 0)),
    # Cairo: summer time from the last Friday of April 2025 (00:00 -> 01:00)
    ("Africa/Cairo", utc(2025, 4, 24, 12, 0), utc(2025, 4, 25, 6, 0)),
    ("Africa/Cairo", utc(2025, 4, 23, 12, 0), utc(2025, 4, 24, 7, 0)),
])
def test_next_opening(tz, t, expected):
    assert next_opening(t, SLOT, zone(tz)) == expected


@pytest.mark.parametrize("tz,day,at,expected", [
    ("Asia/Kolkata", date(2026, 1, 1), time(0), utc(2025, 12, 31, 18, 30)),
    ("Europe/London", date(2026, 3, 29), time(0), utc(2026, 3, 29, 0, 0)),
    # 01:30 does not exist in London on 29 March 2026: the first instant after the gap
    ("Europe/London", date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1, 0)),
    # 01:30 happens twice on 25 October 2026: the first one (BST)
    ("Europe/London", date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),
    # Cairo, 25 April 2025: midnight does not exist, the day starts at 01:00 EEST
    ("Africa/Cairo", date(2025, 4, 25), time(0), utc(2025, 4, 24, 22, 0)),
    ("Africa/Cairo", date(2025, 4, 25), time(9), utc(2025, 4, 25, 6, 0)),
])
def test_local_instant(tz, day, at, expected):
    assert local_instant(day, at, zone(tz)) == expected


def test_day_start_is_local_midnight_across_dst():
    tz = zone("Europe/London")
    starts = [day_start(date(2026, 3, 27) + timedelta(days=i), tz) for i in range(4)]
    assert [s.astimezone(tz).time() for s in starts] == [time(0)] * 4
    hours = [(b - a).total_seconds() / 3600 for a, b in zip(starts, starts[1:], strict=False)]
    assert hours == [24, 24, 23]


@pytest.mark.parametrize("text,error", [
    ("9-12", "expected a range"), ("12:00-09:00", "start before it ends"),
    ("25:00-26:00", "not a valid time range"), ("09:00-09:00", "start before it ends"),
])
def test_parse_range_errors(text, error):
    with pytest.raises(ValueError, match=error):
        parse_range("s", text)


def test_unknown_zone():
    with pytest.raises(ValueError, match="unknown time zone 'Nowhere/Land'"):
        zone("Nowhere/Land")
