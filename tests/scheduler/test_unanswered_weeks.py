"""Weeks unanswered (scheduler/unanswered.py): the pure rule on small tables, and the change
set rules.release() makes of it. Weeks count from her last answered call, else her enrolment;
N whole weeks unanswered in a row before the week of an unanswered attempt end her
subscription."""
from dataclasses import replace
from datetime import timedelta

import pytest

from helpers import local, woman
from scheduler import rules, unanswered
from scheduler.model import Attempt, AttemptKind, Delivery, DeliveryStatus, SubscriberStatus
from scheduler.outcome import Outcome
from scheduler.programme import ProgrammeError, parse_programme, PROGRAMMES_DIR
from scheduler.unanswered import Unanswered, deactivates, from_calls, weeks_unanswered

ENROLLED = local("Asia/Kolkata", 2026, 11, 2, 10)     # a Monday
DAY = timedelta(days=1)


def at(day: float):
    return ENROLLED + day * DAY


# (her calls before: (day after enrolment, answered)), N, the day of the unanswered attempt,
# whether it deactivates her
TABLE = [
    ([], 1, 1, False),                                     # week 0: no whole week before
    ([(1, False)], 1, 8, True),                            # week 0 unanswered, now week 1
    ([(1, False)], 2, 8, False),                           # one week only
    ([(1, False), (8, False)], 2, 15, True),
    ([(1, False), (3, False), (8, False)], 2, 9, False),   # still week 1: one whole week
    ([(1, False), (15, False)], 2, 22, False),             # week 1 had no call: the run broke
    ([(1, False), (8, True), (9, False)], 2, 15, False),   # answered on day 8: weeks from it
    ([(1, False), (8, True), (9, False), (16, False)], 2, 23, True),
    ([(1, True)], 1, 8, False),                            # week 0 from the answer, no calls
    ([(1, False), (8, False), (15, False)], 0, 22, False),  # off
]


@pytest.mark.parametrize("calls,n,day,expected", TABLE)
def test_the_rule_on_a_table(calls, n, day, expected):
    before = from_calls(ENROLLED, ((at(d), ok) for d, ok in calls))
    assert deactivates(n, before, False, at(day)) is expected
    assert deactivates(n, before, True, at(day)) is False          # an answered call never does


def test_weeks_unanswered_counts_whole_weeks_before_the_week_of_the_call():
    u = from_calls(ENROLLED, [(at(1), False), (at(8), False), (at(15), False)])
    assert u == Unanswered(ENROLLED, 2, 3)
    assert weeks_unanswered(u, at(16)) == 2            # weeks 0 and 1 whole; week 2 running
    assert weeks_unanswered(u, at(22)) == 3            # week 3: weeks 0..2 behind her
    assert weeks_unanswered(u, at(29)) == 0            # week 3 had no call
    assert weeks_unanswered(Unanswered(None), at(29)) == 0


def test_an_answer_restarts_the_count_from_it():
    u = from_calls(ENROLLED, [(at(1), False), (at(8), False), (at(10), True)])
    assert u == Unanswered(at(10))


def test_calls_are_her_finished_calls_in_order_without_test_calls():
    def call(i, day, outcome, kind=AttemptKind.SCHEDULED):
        return Attempt(id=i, subscriber_id=1, kind=kind, message_key="m", number=1,
                       claimed_at=at(day), ended_at=at(day) + timedelta(minutes=1),
                       outcome=outcome)
    rows = [call(2, 8, Outcome.ANSWERED), call(1, 1, Outcome.BUSY),
            call(3, 9, Outcome.NO_ANSWER, AttemptKind.TEST), call(4, 10, None),
            call(5, 11, Outcome.NO_ANSWER, AttemptKind.CALLBACK)]
    assert list(unanswered.calls(rows)) == [
        (at(1) + timedelta(minutes=1), False), (at(8) + timedelta(minutes=1), True),
        (at(11) + timedelta(minutes=1), False)]


# ---- the change set of a release ------------------------------------------------------------
def weekly(programme, n):
    return replace(programme, retry=replace(programme.retry, deactivate_after_weeks_unanswered=n))


def a_call(day):
    return Attempt(id=3, subscriber_id=1, kind=AttemptKind.SCHEDULED, message_key="mmitra-p017",
                   number=1, claimed_at=at(day), delivery_id=7, acquired_by="w",
                   acquired_until=at(day) + timedelta(minutes=5))


def her_delivery(day):
    return Delivery(id=7, subscriber_id=1, message_key="mmitra-p017", due_at=at(day),
                    attempts=1, next_attempt_at=None, acquired_by="w")


QUIET_TWO_WEEKS = from_calls(ENROLLED, [(at(1), False), (at(8), False)])


def release(programme, outcome, before=QUIET_TWO_WEEKS, sub=None):
    sub = sub or woman(enrolled_at=ENROLLED)
    return rules.release(programme, sub, a_call(15), her_delivery(15), None, [], outcome,
                         None, at(15), before)


def test_release_deactivates_her_cancels_her_callbacks_and_writes_the_audit_row(mmitra):
    c = release(weekly(mmitra, 2), Outcome.NO_ANSWER)
    assert c.subscriber is not None
    assert (c.subscriber.status, c.subscriber.status_reason) == \
        (SubscriberStatus.DEACTIVATED, "unanswered_weeks")
    assert c.audit == (rules.Audit("deactivate", {"reason": "unanswered_weeks"}),)
    assert c.cancel_callbacks and c.plan
    assert c.ended is not None and c.ended.outcome is Outcome.NO_ANSWER
    [d] = c.deliveries                              # the retry decided as always; the plan
    assert d.status is DeliveryStatus.PENDING       # of an ended woman cancels it


@pytest.mark.parametrize("n,outcome,before,status", [
    (0, Outcome.NO_ANSWER, QUIET_TWO_WEEKS, SubscriberStatus.ACTIVE),     # off by default
    (2, Outcome.ANSWERED, QUIET_TWO_WEEKS, SubscriberStatus.ACTIVE),
    (3, Outcome.NO_ANSWER, QUIET_TWO_WEEKS, SubscriberStatus.ACTIVE),
    (2, Outcome.NO_ANSWER, None, SubscriberStatus.ACTIVE),               # no facts read
    (2, Outcome.NO_ANSWER, QUIET_TWO_WEEKS, SubscriberStatus.PAUSED),
])
def test_release_leaves_her_alone(mmitra, n, outcome, before, status):
    sub = woman(enrolled_at=ENROLLED, status=status)
    c = release(weekly(mmitra, n), outcome, before, sub)
    assert c.subscriber is None and c.audit == () and not c.cancel_callbacks


def test_an_invalid_number_keeps_its_own_reason(mmitra):
    c = release(weekly(mmitra, 2), Outcome.INVALID_NUMBER)
    assert c.subscriber is not None and c.subscriber.status_reason == "invalid_number"
    assert c.audit == (rules.Audit("deactivate", {"reason": "invalid_number"}),)


# ---- the programme file ---------------------------------------------------------------------
MMITRA = (PROGRAMMES_DIR / "mmitra.toml").read_text(encoding="utf-8")
SETTING = "deactivate_after_weeks_unanswered = 0"


def test_the_shipped_programmes_leave_it_off(mmitra, kilkari):
    assert mmitra.retry.deactivate_after_weeks_unanswered == 0
    assert kilkari.retry.deactivate_after_weeks_unanswered == 0
    assert SETTING in MMITRA


def test_the_setting_is_read():
    p = parse_programme(MMITRA.replace(SETTING, "deactivate_after_weeks_unanswered = 6"))
    assert p.retry.deactivate_after_weeks_unanswered == 6


@pytest.mark.parametrize("bad,message", [
    ("-1", "must be between 0 (off) and 104 weeks, got -1"),
    ("105", "must be between 0 (off) and 104 weeks, got 105"),
    ('"6w"', "deactivate_after_weeks_unanswered must be an integer"),
    ("2.5", "deactivate_after_weeks_unanswered must be an integer"),
])
def test_a_bad_value_is_refused_naming_the_line(bad, message):
    text = MMITRA.replace(SETTING, f"deactivate_after_weeks_unanswered = {bad}")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "deactivate_after" in t)
    with pytest.raises(ProgrammeError) as e:
        parse_programme(text, "x.toml")
    assert str(e.value).startswith(f"x.toml, line {line}:") and message in str(e.value)
