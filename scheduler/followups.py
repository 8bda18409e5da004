"""Health workers and whom they follow, the answers a woman keys in, the follow-ups a rule
opens for a worker (issue 15): the facts every store keeps, and the checks and decisions all
stores share, so that each store only reads and writes. Pure. What a call gives a store (an
Answer) and what a rule asks of it (a FollowUpToOpen) are scheduler/questions_model.py's.

Decisions (documented in README, "Workers, answers and follow-ups"):
- week: the ISO week of her local date when she answered, 'YYYY-Www' (`iso_week`); the text
  sorts in time order, so "last week's answer" is the greatest week before this one.
- value: exact decimal text ('1' yes, '2' no, a choice's key, '12.3' for a weight); None when
  the question was skipped (silence or wrong keys, twice).
- one current answer per (woman, question, week): an answer given again in the same week
  supersedes the earlier one, which is kept (superseded_at) for the audit; a skip never
  supersedes an answer (it says nothing new).
- a follow-up's owner is her current worker of the rule's role, else nobody: the role's pool.
  Never two open follow-ups of the same rule for the same woman (opening one again is a no-op).
- a follow-up is closed once, with one of OUTCOMES; a closed one cannot be closed again.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from scheduler.model import SchedulerError
from scheduler.questions_model import Answer, AnswerStatus, OwnerRole


class FollowUpOutcome(str, Enum):
    """How a worker closes a follow-up."""
    VISITED = "visited"            # seen at home
    REACHED = "reached"            # spoken to by phone
    NOT_REACHED = "not_reached"    # tried, could not reach her
    REFERRED = "referred"          # sent to a clinic or hospital
    ASK_TO_COME = "ask_to_come"    # the doctor asks her to come to the health centre
    NO_ACTION = "no_action"        # reviewed: nothing to do


ROLES = tuple(r.value for r in OwnerRole)
OUTCOMES = tuple(o.value for o in FollowUpOutcome)
_WEEK = re.compile(r"\d{4}-W(0[1-9]|[1-4]\d|5[0-3])")
NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class Worker:
    id: int
    name: str
    phone: str                     # E.164 digits; masked in output
    role: OwnerRole
    created_at: datetime
    active: bool = True


@dataclass(frozen=True, slots=True)
class Assignment:
    """worker_id follows subscriber_id from `since` (until None: still)."""
    id: int
    worker_id: int
    subscriber_id: int
    role: OwnerRole
    since: datetime
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    id: int
    subscriber_id: int
    question: str
    week: str
    value: str | None
    status: AnswerStatus
    attempt_id: int | None
    answered_at: datetime
    superseded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    subscriber_id: int
    rule: str
    reason: str
    due_on: date
    owner_role: OwnerRole
    question: str | None           # the question whose answer opened it (None: an absence)
    worker_id: int | None          # None: the role's pool
    answer_id: int | None
    attempt_id: int | None
    opened_at: datetime
    closed_at: datetime | None = None
    outcome: FollowUpOutcome | None = None
    closed_by: str | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


def iso_week(day: date) -> str:
    """'2026-W49': the ISO week of a (local) date, the week key of answers."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def role_of(text: str) -> OwnerRole:
    try:
        return OwnerRole(text)
    except ValueError:
        raise SchedulerError(f"unknown role {text!r}; roles: {', '.join(ROLES)}") from None


def outcome_of(text: str) -> FollowUpOutcome:
    try:
        return FollowUpOutcome(text)
    except ValueError:
        raise SchedulerError(f"unknown outcome {text!r}; outcomes: {', '.join(OUTCOMES)}"
                             ) from None


def check_worker(name: str, phone: str, role: str) -> tuple[str, OwnerRole]:
    """The worker's name (trimmed) and role; SchedulerError when either is unusable or the
    phone is not 3 to 15 digits."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise SchedulerError(f"a worker's name is 1 to {NAME_MAX} characters")
    if not (phone.isdigit() and phone.isascii() and 3 <= len(phone) <= 15):
        raise SchedulerError("a worker's phone is 3 to 15 digits (E.164 without '+')")
    return name, role_of(role)


def check_answers(week: str, answers: Iterable[Answer]) -> list[Answer]:
    """The answers of one call, checked: a valid week key, each question once (an Answer
    checks itself that it has a value exactly when answered)."""
    if not _WEEK.fullmatch(week):
        raise SchedulerError(f"week {week!r} is not an ISO week 'YYYY-Www'")
    out: list[Answer] = []
    seen: set[str] = set()
    for a in answers:
        if not a.question_key:
            raise SchedulerError("an answer needs its question's key")
        if a.question_key in seen:
            raise SchedulerError(f"question {a.question_key!r} answered twice in one call")
        seen.add(a.question_key)
        out.append(a)
    return out


def stored_value(a: Answer) -> str | None:
    """What the store keeps of an answer: its exact decimal text ('1', '12.3'), None when
    skipped."""
    return a.text if a.answered else None


def to_write(current: dict[str, StoredAnswer], answers: list[Answer]) -> list[Answer]:
    """The answers to store, given her current answers of the week by question: a skip after
    an answer of the same week is dropped (a skip never supersedes an answer)."""
    return [a for a in answers
            if not (a.status is AnswerStatus.SKIPPED and a.question_key in current
                    and current[a.question_key].status is AnswerStatus.ANSWERED)]


def check_close(follow_up: FollowUp | None, follow_up_id: int, outcome: str) -> FollowUpOutcome:
    """The outcome to close it with; SchedulerError when it does not exist, is closed
    already, or the outcome is not one of OUTCOMES."""
    result = outcome_of(outcome)
    if follow_up is None:
        raise SchedulerError(f"no follow-up with id {follow_up_id}")
    if not follow_up.open:
        raise SchedulerError(f"follow-up {follow_up_id} is closed already "
                             f"({follow_up.outcome.value if follow_up.outcome else '-'}, "
                             f"by {follow_up.closed_by})")
    return result


def check_assign(worker: Worker | None, worker_id: int) -> Worker:
    if worker is None or not worker.active:
        raise SchedulerError(f"no worker with id {worker_id} (see: ivr workers list)")
    return worker
