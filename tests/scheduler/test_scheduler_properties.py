"""Properties of the time maths, over zones with and without DST (hypothesis)."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import example, given, settings, strategies as st

from scheduler.outcome import RETRYABLE, Outcome
from scheduler.policy import RetryPolicy
from scheduler.retry import next_retry_at
from scheduler.slots import TimeSlot, inside, local_date, local_instant, next_opening, zone

ZONES = ["Asia/Kolkata", "Europe/London", "Africa/Cairo", "America/New_York",
         "Australia/Lord_Howe", "Pacific/Chatham"]
zones = st.sampled_from(ZONES).map(zone)
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31)) \
    .map(lambda d: d.replace(tzinfo=timezone.utc))


@st.composite
def slots(draw):
    start = draw(st.integers(0, 22 * 60))
    end = draw(st.integers(start + 15, 23 * 60 + 59))
    return TimeSlot("s", time(start // 60, start % 60), time(end // 60, end % 60))


FAST = settings(max_examples=300, deadline=None)


@FAST
@given(instants, slots(), zones)
def test_next_opening_is_the_first_instant_inside(t, slot, tz):
    opening = next_opening(t, slot, tz)
    assert opening >= t and inside(opening, slot, tz)
    assert opening - t < timedelta(days=2)
    if opening > t:                                 # nothing inside between t and it
        gap = opening - t
        probes = [t + gap * i / 64 for i in range(64)] + [opening - timedelta(seconds=1)]
        assert not any(inside(p, slot, tz) for p in probes if t <= p < opening)


@FAST
@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
       st.times(), zones)
@example(date(2027, 3, 14), time(2, 27, fold=1), zone("America/New_York"))   # found by hypothesis
def test_local_instant_lands_on_that_wall_time_or_just_after_a_gap(day, at, tz):
    t = local_instant(day, at, tz)
    wall = t.astimezone(tz).replace(tzinfo=None)
    naive = datetime.combine(day, at)
    assert wall >= naive and wall - naive <= timedelta(hours=1)
    if wall != naive:                               # skipped by a DST jump: nothing earlier fits
        assert (t - timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None) < naive


@FAST
@given(instants, slots(), zones, st.sampled_from(sorted(RETRYABLE, key=lambda o: o.value)),
       st.integers(1, 3))
def test_retries_stay_in_the_slot_and_at_most_per_day(t, slot, tz, outcome, per_day):
    policy = RetryPolicy(per_day=per_day)
    when = next_opening(t, slot, tz)
    per_date: dict = {}
    for attempt in range(1, 10):
        assert inside(when, slot, tz)
        day = local_date(when, tz)
        per_date[day] = per_date.get(day, 0) + 1
        assert per_date[day] <= per_day
        ended = when + timedelta(seconds=30)
        nxt = next_retry_at(policy, slot, tz, attempt, outcome, ended)
        assert nxt > ended
        when = nxt


@FAST
@given(instants, slots(), zones)
def test_busy_is_retried_no_later_than_no_answer(t, slot, tz):
    start = next_opening(t, slot, tz)
    busy = next_retry_at(RetryPolicy(), slot, tz, 1, Outcome.BUSY, start)
    no_answer = next_retry_at(RetryPolicy(), slot, tz, 1, Outcome.NO_ANSWER, start)
    assert busy <= no_answer


@pytest.mark.parametrize("day,at,expected", [
    (date(2027, 3, 14), time(2, 27), datetime(2027, 3, 14, 7, 0, tzinfo=timezone.utc)),   # gap
    (date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)),  # twice
])
def test_local_instant_ignores_the_fold_of_the_wall_time_it_is_given(day, at, expected):
    """A skipped wall time maps after the gap and a repeated one to its first occurrence,
    whatever fold the caller's time carries (fold=1 used to map 02:27 in New York's spring
    gap to 01:27; and one memoized entry answered for both folds, which compare equal)."""
    tz = zone("America/New_York")
    assert local_instant(day, at.replace(fold=1), tz) == expected
    assert local_instant(day, at, tz) == expected
    assert local_instant(day, at.replace(fold=1), tz) == expected
