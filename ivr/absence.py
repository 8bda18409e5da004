"""The absence sweep (issue 15): the weeks whose check-in calls all went unanswered, written
as silent weeks, and the follow-ups they open. The in-call route writes a check-in only for
a call she answered (ivr/check_in.py); a child whose carer never picks up would never reach
the absence rule (`absent_weeks`) without this sweep.

Which delivery makes which week silent: scheduler/check_in.py's silent_week (the week of its
due date, in her time zone). Each silent week is written as a hung-up call's check-in is
(every question skipped, naming the delivery's last call) through the same write_check_in,
then the programme's follow-up rules run on all her answers: one transaction per woman-week
(her row locked first), so two nodes sweeping at once write it once. A second sweep writes
nothing: the query leaves out deliveries whose calls have answers, and a week with answers
is not written again.

`ivr run` runs it from the dial loop: every EVERY, over the deliveries closed since the last
sweep (at start-up: the LOOK_BACK before), one page (TURN_PAGE) a turn so that a long
backlog never holds up the calls. `ivr followups absent` runs it once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.unanswered import PAGE, UnansweredCheckIn, unanswered_check_ins
from ivr.check_in import write_check_in
from scheduler.check_in import due_answers, silent_week
from scheduler.model import SchedulerError
from scheduler.slots import local_date, zone

log = logging.getLogger(__name__)

EVERY = timedelta(hours=1)
TURN_PAGE = 100     # deliveries a turn of the dial loop reads: ~0.2 s of writes (500 took 1.1 s
                    # on SQLite, 1 M deliveries, this 2-core machine)
LOOK_BACK = timedelta(days=14)      # at start-up: deliveries closed while no sweep ran


@dataclass
class SweepResult:
    checked: int = 0        # deliveries read
    weeks: int = 0          # silent weeks written
    opened: int = 0         # follow-ups opened

    def add(self, other: "SweepResult") -> None:
        self.checked += other.checked
        self.weeks += other.weeks
        self.opened += other.opened


class AbsenceSweep:
    """`page`: deliveries read per query (and per turn of the dial loop)."""

    def __init__(self, schedule: ScheduleStore, *, page: int = PAGE):
        self.schedule = schedule
        self.page = page
        # every programme the installation runs (ivr/adapters/schedules.py): a key with
        # questions in one programme only is read for all, and her own programme decides
        self.keys = frozenset(m.key for programme in schedule.programmes
                              for m in programme.messages if programme.questions_after(m.key))
        self._after: datetime | None = None     # the sweep in progress: its cursor...
        self._from_id = 0
        self._until: datetime | None = None     # ... and its end (None: none in progress)

    async def sweep(self, after: datetime, until: datetime, now: datetime) -> SweepResult:
        """Every delivery closed from `after` to `until`, page by page."""
        total, from_id = SweepResult(), 0
        while True:
            page = await unanswered_check_ins(self.schedule.store, self.keys, after, until,
                                              from_id=from_id, limit=self.page)
            total.add(await self._write(page, now))
            if len(page) < self.page:
                return total
            after, from_id = page[-1].closed_at, page[-1].delivery_id

    async def run_if_due(self, now: datetime) -> SweepResult | None:
        """One page of the sweep in progress, or of a new one when EVERY has passed since
        the last ended (None: nothing to do yet)."""
        if not self.keys:
            return None
        if self._until is None:
            if self._after is not None and now - self._after < EVERY:
                return None
            self._after = self._after or now - LOOK_BACK
            self._until = now
        assert self._after is not None
        page = await unanswered_check_ins(self.schedule.store, self.keys, self._after,
                                          self._until, from_id=self._from_id, limit=self.page)
        result = await self._write(page, now)
        if len(page) < self.page:
            self._after, self._from_id, self._until = self._until, 0, None
        else:
            self._after, self._from_id = page[-1].closed_at, page[-1].delivery_id
        if result.weeks:
            log.info("absence sweep: %d silent week(s) written, %d follow-up(s) opened",
                     result.weeks, result.opened)
        return result

    async def _write(self, page: list[UnansweredCheckIn], now: datetime) -> SweepResult:
        """Her earlier weeks first: a run of silent weeks is counted in order."""
        out = SweepResult(checked=len(page))
        for c in sorted(page, key=lambda c: (c.subscriber_id, c.due_at)):
            try:
                opened = await self._write_one(c, now)
            except SchedulerError as e:       # she is gone (erased) meanwhile, say
                log.error("absence sweep: delivery %s: not written (%s)", c.delivery_id, e)
                continue
            if opened is not None:
                out.weeks += 1
                out.opened += opened
        return out

    async def _write_one(self, c: UnansweredCheckIn, now: datetime) -> int | None:
        """Her silent week, if the delivery makes one: the follow-ups opened (None: none)."""
        schedule = await self.schedule.hers(c.subscriber_id)        # her programme's
        questions = schedule.programme.questions_after(c.message_key)
        async with schedule.store.transaction():
            her = await schedule.subscriber(c.subscriber_id)      # her row locked
            week = silent_week(c.status, c.attempts, questions, c.due_at, her.timezone,
                               await schedule.answers_of(her.id))
            if week is None:
                return None
            today = local_date(now, zone(her.timezone))
            _, opened = await write_check_in(schedule, her.id, c.last_attempt_id, week,
                                             due_answers(questions, ()), now, today)
            return opened
