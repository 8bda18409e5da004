"""One call's check-in: what a call's answers write and which follow-ups they open. Pure
(issue 15); the in-call route (ivr/agi_route.py) reads and writes the store around it.

Decisions:
- A call whose message has questions is a check-in due that week. When it ends without her
  reaching a question (she hung up during the message or the questions), each question not
  answered is written as skipped: the week was due and got no answer, so an absence rule
  (`absent_weeks`) can count it. A later call of the same week that she answers supersedes
  the skip (followups.to_write). A call where she stopped the service or asked for the call
  centre writes nothing (she asked for something else).
- Weeks are the store's ISO week keys ('2026-W49'); the rules count weeks as integers
  (`week_number`: weeks since 0001-01-01, so consecutive ISO weeks differ by one).
- Her earlier answers come back from the store as text; they are read with each question's
  decimals. Answers to a question the programme no longer has are left out.
- A silent week (`silent_week`): a delivery of a message with questions that ended without
  being delivered (undelivered: its attempts exhausted; superseded: the next message fell
  due first) after at least one call (a message skipped before any call was never asked),
  none of whose calls was answered, is a check-in due and unanswered: it is written as
  every question skipped, as a call she hung up on, so that `absent_weeks` counts a week
  whose calls all went unanswered. Its week is the ISO week of the delivery's due date, in
  her time zone: each weekly message then falls in its own week, consecutive messages in
  consecutive weeks (the week of its last call would put two messages in one week, or
  leave a week out, when the calls run past the next message's week start). Nothing is
  written when that week has answers of hers already (a call of that week she answered).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from scheduler.followup_rules import FollowUpRule, followups_to_open
from scheduler.followups import StoredAnswer, iso_week
from scheduler.model import DeliveryStatus
from scheduler.question_spec import Question
from scheduler.questions_model import Answer, AnswerStatus, FollowUpToOpen
from scheduler.slots import local_date, zone

ENDED_UNDELIVERED = (DeliveryStatus.UNDELIVERED, DeliveryStatus.SUPERSEDED)


def week_number(week: str) -> int:
    """'2026-W49' -> an integer; consecutive ISO weeks give consecutive integers."""
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1).toordinal() // 7


def due_answers(questions: Sequence[Question], given: Sequence[Answer]) -> list[Answer]:
    """Her answers to a check-in, every question of it: those given, the others skipped."""
    got = {a.question_key: a for a in given}
    return [got.get(q.key) or Answer(q.key, AnswerStatus.SKIPPED, None, q.decimals)
            for q in questions]


def silent_week(status: DeliveryStatus, attempts: int, questions: Sequence[Question],
                due_at: datetime, timezone: str,
                stored: Iterable[StoredAnswer]) -> str | None:
    """The week ('2026-W49') a delivery ended unanswered makes silent, None when it makes
    none: it ended undelivered or superseded after at least one call, its message has
    questions, and `stored` (her current answers) has nothing for the week of its due date
    in her time zone. (That none of its calls was answered the store's query says.)"""
    if status not in ENDED_UNDELIVERED or attempts < 1 or not questions:
        return None
    week = iso_week(local_date(due_at, zone(timezone)))
    return None if any(s.week == week for s in stored) else week


def as_answer(stored: StoredAnswer, question: Question) -> Answer:
    if stored.value is None:
        return Answer(question.key, AnswerStatus.SKIPPED, None, question.decimals)
    value = int(Decimal(stored.value).scaleb(question.decimals))
    return Answer(question.key, AnswerStatus.ANSWERED, value, question.decimals)


def by_week(stored: Iterable[StoredAnswer], questions: Sequence[Question],
            except_week: str) -> dict[int, list[Answer]]:
    """Her answers of the other weeks, by week number (a week asked and unanswered maps to
    skipped answers, which followup_rules counts as silent)."""
    known = {q.key: q for q in questions}
    out: dict[int, list[Answer]] = {}
    for s in stored:
        if s.week != except_week and s.question in known:
            out.setdefault(week_number(s.week), []).append(as_answer(s, known[s.question]))
    return out


def follow_ups(rules: Sequence[FollowUpRule], questions: Sequence[Question], week: str,
               stored: Sequence[StoredAnswer], today: date) -> tuple[FollowUpToOpen, ...]:
    """The follow-ups her current answers of `week` open (an answer of an earlier call of the
    week counts: a skip does not supersede it), her answers of other weeks read for the change
    and absence rules; `stored`: all her current answers; `today`: her local date."""
    known = {q.key: q for q in questions}
    this_week = [as_answer(s, known[s.question]) for s in stored
                 if s.week == week and s.question in known]
    earlier = by_week(stored, questions, week)
    return followups_to_open(rules, week_number(week), this_week, earlier, today)
