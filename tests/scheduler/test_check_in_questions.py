"""One call's check-in (scheduler/check_in.py): the questions not reached are written as
skipped, ISO weeks count as consecutive integers, her stored answers are read back with each
question's decimals, and the follow-up rules read this week's current answers and her earlier
weeks (a fever, a lower weight, two silent weeks)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from scheduler.check_in import due_answers, follow_ups, week_number
from scheduler.followup_rules import build_followup_rules
from scheduler.followups import StoredAnswer
from scheduler.question_spec import Question
from scheduler.questions_model import Answer, AnswerStatus, AnswerType

FEVER = Question("fever", AnswerType.YES_NO, {"hi": "q-fever"})
WEIGHT = Question("weight", AnswerType.NUMBER, {"hi": "q-weight"}, keys=(), decimals=1,
                  minimum=10, maximum=300)
QUESTIONS = (FEVER, WEIGHT)
AT = datetime(2026, 11, 30, tzinfo=timezone.utc)
TODAY = date(2026, 11, 30)


def _error(message, *where):
    return ValueError(message)


RULES = build_followup_rules([
    {"key": "fever", "question": "fever", "equals": "yes", "owner": "doctor"},
    {"key": "weight-loss", "question": "weight", "change": "lower", "owner": "doctor"},
    {"key": "no-checkin", "absent_weeks": 2, "owner": "agent"},
], QUESTIONS, _error)


def stored(week: str, question: str, value: str | None) -> StoredAnswer:
    status = AnswerStatus.SKIPPED if value is None else AnswerStatus.ANSWERED
    return StoredAnswer(0, 1, question, week, value, status, None, AT)


@pytest.mark.parametrize("a, b", [("2026-W48", "2026-W49"), ("2026-W53", "2027-W01"),
                                  ("2025-W52", "2026-W01")])
def test_consecutive_iso_weeks_are_consecutive_numbers(a, b):
    assert week_number(b) - week_number(a) == 1


def test_question_not_reached_is_skipped():
    given = [Answer("fever", AnswerStatus.ANSWERED, 1)]
    assert due_answers(QUESTIONS, given) == [
        given[0], Answer("weight", AnswerStatus.SKIPPED, None, 1)]
    assert [a.status for a in due_answers(QUESTIONS, [])] == [AnswerStatus.SKIPPED] * 2


@pytest.mark.parametrize("answers, opened", [
    # fever yes this week
    ([stored("2026-W49", "fever", "1"), stored("2026-W49", "weight", "12.0")], ["fever"]),
    # a weight lower than last week's
    ([stored("2026-W48", "weight", "12.5"), stored("2026-W49", "fever", "2"),
      stored("2026-W49", "weight", "12.0")], ["weight-loss"]),
    # same weight, no fever: nothing
    ([stored("2026-W48", "weight", "12.0"), stored("2026-W49", "fever", "2"),
      stored("2026-W49", "weight", "12.0")], []),
    # two silent weeks after an answered one: an absence follow-up
    ([stored("2026-W47", "fever", "2"), stored("2026-W48", "fever", None),
      stored("2026-W49", "fever", None), stored("2026-W49", "weight", None)], ["no-checkin"]),
    # one silent week only: nothing yet
    ([stored("2026-W48", "fever", "2"), stored("2026-W49", "fever", None)], []),
    # an answer of a question the programme no longer has is left out
    ([stored("2026-W49", "mood", "1")], []),
])
def test_followup_rules_read_her_weeks(answers, opened):
    got = follow_ups(RULES, QUESTIONS, "2026-W49", answers, TODAY)
    assert [f.rule_key for f in got] == opened
    assert all(f.due >= TODAY for f in got)
