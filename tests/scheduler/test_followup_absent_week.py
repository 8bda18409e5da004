"""Which delivery that ended unanswered makes a silent week (scheduler/check_in.py's
silent_week, the decision of the absence sweep): an undelivered or superseded check-in
after at least one call, in the ISO week of its due date in her time zone, not a week she
has answers for already; and two such weeks in a row open the absence follow-up."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from scheduler.check_in import due_answers, follow_ups, silent_week
from scheduler.followup_rules import build_followup_rules
from scheduler.followups import StoredAnswer
from scheduler.model import DeliveryStatus
from scheduler.question_spec import Question
from scheduler.questions_model import AnswerStatus, AnswerType

FEVER = Question("fever", AnswerType.YES_NO, {"hi": "q-fever"})
# Sunday 2026-11-29 20:00 UTC is Monday 2026-11-30 01:30 in Kolkata (2026-W49), still
# Sunday in Bamako (2026-W48)
DUE = datetime(2026, 11, 29, 20, 0, tzinfo=timezone.utc)
AT = datetime(2026, 12, 7, tzinfo=timezone.utc)


def stored(week: str, value: str | None) -> StoredAnswer:
    status = AnswerStatus.SKIPPED if value is None else AnswerStatus.ANSWERED
    return StoredAnswer(1, 1, "fever", week, value, status, 7, AT)


@pytest.mark.parametrize("status, attempts, questions, tz, answers, week", [
    (DeliveryStatus.UNDELIVERED, 9, (FEVER,), "Asia/Kolkata", (), "2026-W49"),
    (DeliveryStatus.SUPERSEDED, 2, (FEVER,), "Asia/Kolkata", (), "2026-W49"),
    (DeliveryStatus.UNDELIVERED, 9, (FEVER,), "Africa/Bamako", (), "2026-W48"),
    # answers of another week do not matter; one of that week does
    (DeliveryStatus.UNDELIVERED, 9, (FEVER,), "Asia/Kolkata", (stored("2026-W48", "1"),),
     "2026-W49"),
    (DeliveryStatus.UNDELIVERED, 9, (FEVER,), "Asia/Kolkata", (stored("2026-W49", None),),
     None),
    (DeliveryStatus.UNDELIVERED, 9, (FEVER,), "Asia/Kolkata", (stored("2026-W49", "2"),),
     None),
    # superseded before any call (a message skipped at enrolment): she was never asked
    (DeliveryStatus.SUPERSEDED, 0, (FEVER,), "Asia/Kolkata", (), None),
    (DeliveryStatus.UNDELIVERED, 3, (), "Asia/Kolkata", (), None),       # no question
    (DeliveryStatus.DELIVERED, 1, (FEVER,), "Asia/Kolkata", (), None),
    (DeliveryStatus.CANCELLED, 2, (FEVER,), "Asia/Kolkata", (), None),   # she left
    (DeliveryStatus.PENDING, 2, (FEVER,), "Asia/Kolkata", (), None),     # still owed
])
def test_followup_absent_silent_week(status, attempts, questions, tz, answers, week):
    assert silent_week(status, attempts, questions, DUE, tz, answers) == week


RULES = build_followup_rules([{"key": "no-checkin", "absent_weeks": 2, "owner": "agent",
                               "due_days": 3}], (FEVER,), lambda m, *w: ValueError(m))


def test_followup_absent_two_silent_weeks_open_once_and_an_answer_breaks_the_run():
    """Silent weeks written as skips (due_answers of nothing): the second in a row opens
    the rule, a third does not (it opens in the N-th week only), an answered week between
    two silent ones breaks the run."""
    skip = due_answers((FEVER,), ())
    assert [a.status for a in skip] == [AnswerStatus.SKIPPED]
    today = date(2026, 12, 7)

    def opened(weeks: dict[str, str | None], week: str) -> list[str]:
        answers = [stored(w, v) for w, v in weeks.items()]
        return [f.rule_key for f in follow_ups(RULES, (FEVER,), week, answers, today)]

    assert opened({"2026-W48": None}, "2026-W48") == []
    [rule] = follow_ups(RULES, (FEVER,), "2026-W49",
                        [stored("2026-W48", None), stored("2026-W49", None)], today)
    assert (rule.rule_key, rule.owner_role.value, rule.due) == (
        "no-checkin", "agent", date(2026, 12, 10))
    assert rule.reason == "no check-in answered for 2 week(s)"
    assert opened({"2026-W48": None, "2026-W49": None, "2026-W50": None}, "2026-W50") == []
    assert opened({"2026-W48": None, "2026-W49": "2", "2026-W50": None}, "2026-W50") == []
    assert opened({"2026-W49": "2", "2026-W50": None, "2026-W51": None}, "2026-W51") == [
        "no-checkin"]
