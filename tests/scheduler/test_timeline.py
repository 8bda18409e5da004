"""Table tests for the date maths: week boundaries, mid-pregnancy start, the birth hand-over."""
from datetime import date, timedelta

import pytest
from helpers import local, woman

from scheduler.content import Track
from scheduler.model import SchedulerError
from scheduler.timeline import (Position, current_message, due_at, first_attempt_at, position,
                                pregnancy_dates, upcoming_message)
from scheduler.slots import zone

LMP = date(2026, 1, 1)


@pytest.mark.parametrize("days_after_lmp,current,upcoming", [
    (0, None, "mmitra-p001"),         # enrolled at LMP: nothing yet, first message day 28
    (27, None, "mmitra-p001"),
    (28, "mmitra-p001", "mmitra-p002"),  # week 4 day 0
    (30, "mmitra-p001", "mmitra-p002"),
    (31, "mmitra-p002", "mmitra-p003"),  # week 4 day 3
    (35, "mmitra-p003", "mmitra-p004"),  # week 5 day 0
    (276, "mmitra-p072", None),         # the last pregnancy message (week 39 day 3)
    (300, "mmitra-p072", None),
])
def test_pregnancy_week_boundaries(mmitra, days_after_lmp, current, upcoming):
    pos = Position(Track.PREGNANCY, LMP, None)
    today = LMP + timedelta(days=days_after_lmp)
    cur = current_message(mmitra, pos, today)
    up = upcoming_message(mmitra, pos, today)
    assert (cur.key if cur else None, up.key if up else None) == (current, upcoming)


@pytest.mark.parametrize("age_days,current", [
    (0, "mmitra-i001"), (6, "mmitra-i007"),       # daily in week 0
    (7, "mmitra-i008"), (9, "mmitra-i008"), (10, "mmitra-i009"),   # twice a week from week 1
    (90, "mmitra-i031"), (91, "mmitra-i032"),     # month 4 (day 91): weekly
    (350, "mmitra-i069"), (364, "mmitra-i069"),
])
def test_infant_boundaries(mmitra, age_days, current):
    dob = date(2026, 10, 8)
    pos = Position(Track.INFANT, dob, None)
    assert current_message(mmitra, pos, dob + timedelta(days=age_days)).key == current


@pytest.mark.parametrize("lmp,edd,expected", [
    (date(2026, 1, 1), None, (date(2026, 1, 1), date(2026, 10, 8))),
    (None, date(2026, 10, 8), (date(2026, 1, 1), date(2026, 10, 8))),
    (date(2026, 1, 3), date(2026, 10, 8), (date(2026, 1, 3), date(2026, 10, 8))),
])
def test_pregnancy_dates(lmp, edd, expected):
    assert pregnancy_dates(lmp, edd) == expected


def test_pregnancy_dates_need_one():
    with pytest.raises(SchedulerError, match="LMP or an EDD"):
        pregnancy_dates(None, None)


@pytest.mark.parametrize("today,track,anchor", [
    (date(2026, 10, 8), Track.PREGNANCY, LMP),            # on the EDD, no birth registered
    (date(2026, 10, 28), Track.PREGNANCY, LMP),           # EDD + 20
    (date(2026, 10, 29), Track.INFANT, date(2026, 10, 8)),  # EDD + 21: assumed born on the EDD
])
def test_assumed_birth(mmitra, today, track, anchor):
    pos = position(mmitra, woman(lmp=LMP), today)
    assert (pos.track, pos.anchor) == (track, anchor)


def test_registered_birth_wins(mmitra):
    pos = position(mmitra, woman(lmp=LMP, child_dob=date(2026, 9, 20)), date(2026, 9, 25))
    assert pos == Position(Track.INFANT, date(2026, 9, 20), None)


def test_kilkari_never_assumes_a_birth(kilkari):
    pos = position(kilkari, woman(lmp=LMP), date(2027, 6, 1))
    assert pos.track is Track.PREGNANCY and pos.switch_on is None


@pytest.mark.parametrize("tz,expected_utc_hour", [("Asia/Kolkata", 18.5), ("Europe/London", 0)])
def test_due_at_is_local_midnight(mmitra, tz, expected_utc_hour):
    m = mmitra.messages[0]                                  # day 28 after the LMP
    due = due_at(m, Position(Track.PREGNANCY, LMP, None), zone(tz))
    assert due.astimezone(zone(tz)).date() == LMP + timedelta(days=28)
    assert due.hour + due.minute / 60 == expected_utc_hour


@pytest.mark.parametrize("slot,now_local_hour,expected_local", [
    ("09-12", 0, (29, 9)), ("18-21", 0, (29, 18)), ("09-12", 13, (30, 9)), ("12-15", 13, (29, 13)),
])
def test_first_attempt_in_her_slot(mmitra, slot, now_local_hour, expected_local):
    sub = woman(slot=slot)
    due = local("Asia/Kolkata", 2026, 1, 29)
    now = local("Asia/Kolkata", 2026, 1, 29, now_local_hour)
    t = first_attempt_at(mmitra, sub, due, now)
    day, hour = expected_local
    assert t == local("Asia/Kolkata", 2026, 1, day, hour)
