"""Her answers of one call, written; the follow-ups they open, opened (issue 15): the shell of
scheduler/check_in.py, run by the in-call route (ivr/agi_route.py) when the flow ends.

Where and why: here, as the AGI session ends, through the scheduling store's facts
(record_answers, answers_of, open_follow_up: every store has them), and not in the release:
the release belongs to the dial loop and its Schedule.release() contract knows nothing of a
call's questions; the answers are worth keeping even when the release fails or the service
dies before it. Each store write is one transaction with its audit row; the answers are
written first, then each follow-up (a failure of one is logged; the answers stay).
Week: the ISO week of her local date (her time zone) at the end of the questions.
Owner of a follow-up: her current worker of the rule's role, else the role's pool
(open_follow_up).
Absence rules are evaluated with every check-in written, so a call she answered without
answering a question counts as a silent week. A week whose calls all went unanswered (nothing
ran in a call) is written by the absence sweep (ivr/absence.py), which `ivr run` runs every
hour: the same rows (every question skipped) through the same write_check_in, so
`absent_weeks` counts both kinds of silent week.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import DB_ERRORS
from ivr.flow import ENDED_HANGUP, CallResult
from ivr.live_call import LiveCall
from ivr.questions import QuestionPlan, QuestionsResult
from scheduler.check_in import due_answers, follow_ups
from scheduler.followups import StoredAnswer, iso_week
from scheduler.model import SchedulerError
from scheduler.questions_model import Answer
from scheduler.slots import zone

log = logging.getLogger(__name__)

ACTOR = "ivr"


class CheckIn:
    def __init__(self, schedule: ScheduleStore):
        self.schedule = schedule

    async def record(self, call: LiveCall, plan: QuestionPlan | None, result: CallResult,
                     asked: QuestionsResult | None, at: float) -> int | None:
        """Write her check-in; the number of questions she answered in this call (None: none
        was asked). Nothing is written when she stopped the service or asked for the call
        centre, or when the call has no woman."""
        answered = None if asked is None else sum(a.answered for a in asked.answers)
        sub_id = call.request.subscriber_id
        if plan is None or sub_id is None or result.opted_out or result.call_centre \
                or (asked is None and result.ended != ENDED_HANGUP):
            return answered
        now = datetime.fromtimestamp(at, timezone.utc)
        try:
            await self._write(call, sub_id, plan, asked, now)
        except DB_ERRORS + (SchedulerError,) as e:
            log.error("attempt %s: answers of subscriber %s not written (%s: %s)",
                      call.attempt_id, sub_id, type(e).__name__, e)
        return answered

    async def _write(self, call: LiveCall, sub_id: int, plan: QuestionPlan,
                     asked: QuestionsResult | None, now: datetime) -> None:
        schedule = await self.schedule.hers(sub_id)
        her = await schedule.subscriber(sub_id)
        today = now.astimezone(zone(her.timezone)).date()
        week = iso_week(today)
        answers = due_answers(plan.questions, asked.answers if asked is not None else ())
        written, opened = await write_check_in(schedule, sub_id, call.attempt_id, week,
                                               answers, now, today)
        log.info("attempt %s: subscriber %s: %d answer(s) written for %s, %d follow-up(s) "
                 "opened", call.attempt_id, sub_id, len(written), week, opened)


async def write_check_in(schedule: ScheduleStore, sub_id: int, attempt_id: int | None,
                         week: str, answers: list[Answer], now: datetime,
                         today: date) -> tuple[list[StoredAnswer], int]:
    """Her check-in of `week` written (answers of a call, or every question skipped), then
    the programme's follow-up rules evaluated on all her answers and what they open opened
    (the in-call route here, the absence sweep in ivr/absence.py): the answers written and
    the number of follow-ups opened. `today`: her local date (due dates count from it)."""
    programme = schedule.programme
    written = await schedule.record_answers(sub_id, attempt_id, week, answers, now,
                                            actor=ACTOR)
    stored = await schedule.answers_of(sub_id)
    opened = 0
    for f in follow_ups(programme.followups, programme.questions, week, stored, today):
        answer_id = next((a.id for a in written if a.question == f.question_key), None)
        if await schedule.open_follow_up(sub_id, f, now, answer_id=answer_id,
                                         attempt_id=attempt_id, actor=ACTOR):
            opened += 1
    return written, opened
