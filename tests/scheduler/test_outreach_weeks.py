"""The outreach list's weeks (scheduler/outreach_weeks.py): local weeks from Monday, week
numbers, and the store's sparse rows turned into each woman's history for the chains."""
from datetime import datetime, timezone

import pytest

from scheduler.model import SchedulerError
from scheduler.outreach import Week, estimate
from scheduler.outreach_weeks import (WEEK_SECONDS, WeekRow, Woman, check_outcome, histories,
                                      transitions, week_label, week_number, week_start)

KOLKATA = "Asia/Kolkata"
E, N, C = Week(True), Week(False), Week(False, True)      # engaging, not, not but called


@pytest.mark.parametrize("now, monday, label", [
    # Monday 2026-11-30 00:00 in Kolkata is Sunday 18:30 UTC
    (datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc), datetime(2026, 11, 29, 18, 30),
     "2026-W49"),
    (datetime(2026, 11, 29, 18, 29, tzinfo=timezone.utc), datetime(2026, 11, 22, 18, 30),
     "2026-W48"),
    (datetime(2026, 12, 6, 18, 29, tzinfo=timezone.utc), datetime(2026, 11, 29, 18, 30),
     "2026-W49"),
])
def test_outreach_week_starts_on_the_local_monday(now, monday, label):
    assert week_start(now, KOLKATA) == monday.replace(tzinfo=timezone.utc)
    assert week_label(week_start(now, KOLKATA), KOLKATA) == label


def test_outreach_week_numbers_and_labels_count_from_this_week():
    start = week_start(datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc), KOLKATA)
    s = start.timestamp()
    offsets = (0, WEEK_SECONDS - 1, WEEK_SECONDS, -1, -WEEK_SECONDS, -WEEK_SECONDS - 1)
    assert [week_number(s + d, s) for d in offsets] == [0, 0, 1, -1, -1, -2]
    assert week_label(start, KOLKATA) == "2026-W49"
    assert week_label(start, KOLKATA, -1) == "2026-W48"
    assert week_label(start, KOLKATA, -49) == "2025-W52"


def test_outreach_histories_fill_the_weeks_without_rows():
    rows = [WeekRow(1, -3, True, False), WeekRow(1, -1, False, True), WeekRow(2, -2, True, False),
            WeekRow(3, -4, True, False)]
    women = [Woman(1, -10, True), Woman(2, -2, True), Woman(3, -8, True), Woman(4, 0, True)]
    got = histories(women, rows, -4)
    assert got == {1: [N, E, N, C],          # from the window's first week
                   2: [E, N],                # from her enrolment week
                   3: [E, N, N, N],
                   4: []}                    # enrolled this week: no complete week yet
    assert transitions(got) == 3 + 1 + 3


def test_outreach_histories_of_women_who_left_end_with_their_last_week():
    rows = [WeekRow(5, -4, True, False), WeekRow(5, -3, False, False),
            WeekRow(6, -2, True, False), WeekRow(6, 0, True, False),     # this week: not over
            WeekRow(7, -9, True, False)]                                  # before the window
    women = [Woman(5, -20, False), Woman(6, -20, False), Woman(7, -20, False)]
    # 6 was still called this week: her history runs to last week
    assert histories(women, rows, -4) == {5: [E, N], 6: [N, N, E, N], 7: []}


def test_outreach_rows_outside_a_history_never_count():
    # this week's row and a row before her enrolment week are not weeks of her history
    rows = [WeekRow(1, 0, True, True), WeekRow(1, -5, True, False)]
    assert histories([Woman(1, -2, True)], rows, -6) == {1: [N, N]}


def test_outreach_histories_refuse_a_window_starting_this_week():
    with pytest.raises(SchedulerError, match="before this week"):
        histories([], [], 0)


def test_outreach_outcomes_are_a_closed_list():
    assert check_outcome("wrong_number") == "wrong_number"
    with pytest.raises(SchedulerError, match="unknown outreach outcome 'visited'"):
        check_outcome("visited")


def test_outreach_histories_feed_the_chains_with_the_calls():
    """Women called when not engaging engage the next week; those not called do not: the
    estimated chain says a call helps from not engaging (the glue keeps `called` in the week
    of the call, and the transition to the next week)."""
    rows = []
    for sid in range(1, 41):
        called = sid <= 20
        rows += [WeekRow(sid, -3, False, called), WeekRow(sid, -2, called, False)]
    women = [Woman(sid, -3, True) for sid in range(1, 41)]
    model = estimate(histories(women, rows, -3))
    p = model.population.engage
    assert p[1][0] == pytest.approx(21 / 22)     # active, not engaging: 20 of 20 engage (+1/+2)
    # passive, not engaging: 0 of 40 (the uncalled, in both transitions)
    assert p[0][0] == pytest.approx(1 / 42)
