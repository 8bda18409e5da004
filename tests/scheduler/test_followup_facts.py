"""scheduler/followups.py: the checks and decisions every store shares about workers, answers
and follow-ups. Pure, table-tested."""
from datetime import date, datetime, timezone

import pytest

from scheduler.followups import (FollowUp, FollowUpOutcome, StoredAnswer, Worker, check_answers,
                                 check_assign, check_close, check_worker, iso_week, stored_value,
                                 to_write)
from scheduler.model import SchedulerError
from scheduler.questions_model import Answer, AnswerStatus, OwnerRole

T = datetime(2026, 11, 24, 6, tzinfo=timezone.utc)


@pytest.mark.parametrize("day,week", [
    (date(2026, 11, 24), "2026-W48"),
    (date(2026, 1, 1), "2026-W01"),        # a Thursday: week 1 of 2026
    (date(2027, 1, 1), "2026-W53"),        # a Friday: the last week of 2026
    (date(2024, 12, 30), "2025-W01"),      # a Monday: week 1 of the next year
    (date(2026, 3, 2), "2026-W10"),
])
def test_answer_week_is_the_iso_week(day, week):
    assert iso_week(day) == week


def test_answer_weeks_sort_in_time_order():
    days = [date(2025, 12, 29), date(2026, 1, 5), date(2026, 3, 2), date(2026, 12, 28)]
    weeks = [iso_week(d) for d in days]
    assert sorted(weeks) == weeks and len(set(weeks)) == 4


@pytest.mark.parametrize("name,phone,role,error", [
    ("", "919812345001", "agent", "1 to 100 characters"),
    ("   ", "919812345001", "agent", "1 to 100 characters"),
    ("x" * 101, "919812345001", "agent", "1 to 100 characters"),
    ("Asha", "+919812345001", "agent", "3 to 15 digits"),
    ("Asha", "91", "agent", "3 to 15 digits"),
    ("Asha", "9" * 16, "agent", "3 to 15 digits"),
    ("Asha", "९१९८१२३४५", "agent", "3 to 15 digits"),      # Devanagari digits
    ("Asha", "919812345001", "nurse", "unknown role 'nurse'"),
])
def test_worker_refused(name, phone, role, error):
    with pytest.raises(SchedulerError, match=error):
        check_worker(name, phone, role)


def test_worker_name_trimmed_and_role_read():
    assert check_worker(" Asha \t Devi ", "919812345001", "call_centre") == (
        "Asha Devi", OwnerRole.CALL_CENTRE)


def test_worker_inactive_or_missing_cannot_be_assigned():
    w = Worker(3, "Asha", "919812345001", OwnerRole.AGENT, T)
    assert check_assign(w, 3) is w
    for gone in (None, Worker(3, "Asha", "919812345001", OwnerRole.AGENT, T, active=False)):
        with pytest.raises(SchedulerError, match="no worker with id 3"):
            check_assign(gone, 3)


def stored(question, status, value=None):
    return StoredAnswer(1, 1, question, "2026-W48", value, status, None, T)


FEVER_YES = stored("fever", AnswerStatus.ANSWERED, "1")
FEVER_SKIPPED = stored("fever", AnswerStatus.SKIPPED)


@pytest.mark.parametrize("current,new,written", [
    ({}, Answer("fever", AnswerStatus.SKIPPED), True),                   # first: kept
    ({"fever": FEVER_YES}, Answer("fever", AnswerStatus.SKIPPED), False),  # says nothing new
    ({"fever": FEVER_YES}, Answer("fever", AnswerStatus.ANSWERED, 2), True),  # latest wins
    ({"fever": FEVER_SKIPPED}, Answer("fever", AnswerStatus.SKIPPED), True),
    ({"fever": FEVER_SKIPPED}, Answer("fever", AnswerStatus.ANSWERED, 1), True),
    ({"weight": stored("weight", AnswerStatus.ANSWERED, "9")},
     Answer("fever", AnswerStatus.SKIPPED), True),                        # another question
])
def test_answer_to_write_a_skip_never_supersedes_an_answer(current, new, written):
    assert to_write(current, [new]) == ([new] if written else [])


@pytest.mark.parametrize("week,answers,error", [
    ("2026-W00", [], "not an ISO week"),
    ("26-W10", [], "not an ISO week"),
    ("2026-W48 ", [], "not an ISO week"),
    ("2026-W48", [Answer("", AnswerStatus.SKIPPED)], "its question's key"),
    ("2026-W48", [Answer("a", AnswerStatus.SKIPPED), Answer("a", AnswerStatus.SKIPPED)],
     "answered twice"),
])
def test_answers_refused(week, answers, error):
    with pytest.raises(SchedulerError, match=error):
        check_answers(week, answers)


def test_answers_of_one_call_kept_in_order():
    given = [Answer("b", AnswerStatus.ANSWERED, 2), Answer("a", AnswerStatus.SKIPPED)]
    assert check_answers("2026-W53", given) == given


@pytest.mark.parametrize("answer,text", [
    (Answer("fever", AnswerStatus.ANSWERED, 1), "1"),
    (Answer("weight", AnswerStatus.ANSWERED, 123, decimals=1), "12.3"),
    (Answer("weight", AnswerStatus.ANSWERED, 5, decimals=2), "0.05"),
    (Answer("weight", AnswerStatus.ANSWERED, 1200, decimals=2), "12.00"),
    (Answer("fever", AnswerStatus.SKIPPED), None),
])
def test_answer_stored_as_exact_decimal_text(answer, text):
    assert stored_value(answer) == text


def follow_up(**closed):
    return FollowUp(7, 1, "fever_yes", "fever", date(2026, 11, 25), OwnerRole.HEALTH_WORKER,
                    "fever", None, None, None, T, **closed)


@pytest.mark.parametrize("outcome", ["visited", "reached", "not_reached", "referred",
                                     "ask_to_come", "no_action"])
def test_followup_closed_with_each_outcome(outcome):
    assert check_close(follow_up(), 7, outcome) is FollowUpOutcome(outcome)


@pytest.mark.parametrize("f,outcome,error", [
    (None, "visited", "no follow-up with id 7"),
    (follow_up(), "done", "unknown outcome 'done'; outcomes: visited, reached"),
    (follow_up(closed_at=T, outcome=FollowUpOutcome.REFERRED, closed_by="dr"), "visited",
     r"follow-up 7 is closed already \(referred, by dr\)"),
])
def test_followup_close_refused(f, outcome, error):
    with pytest.raises(SchedulerError, match=error):
        check_close(f, 7, outcome)
