"""The scheduling store on SQLite: scheduler/store.py's Schedule (the twin of the in-memory
store, scheduler/memory.py), built on the same pure rules (scheduler/rules.py).

Every operation is one transaction on the shared connection, and nothing is kept in memory
between operations: a crash loses nothing, and `ivr run`, the operators' commands and the
dialplan's fallback script all see the same truth. Every change to a woman writes an audit
row (who, when, what). Split by responsibility: the calls (schedule_calls.py: claim,
release, reap...), the women (schedule_women.py: enrolment and changes), the rows and the
writing of a rule's changes (schedule_rows.py), the bulk paths (schedule_bulk.py); this
class reads, plans, and hands each operation to its part.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ivr.adapters.answers import Answers
from ivr.adapters.columns import epoch, instant
from ivr.adapters.deliveries import NO_LIVE_CALL
from ivr.adapters.plan_sets import plan_by_cases
from ivr.adapters.schedule_bulk import PLAN_SELECT, Planner, apply_plans
from ivr.adapters.schedule_calls import MOVE_BATCH, Calls
from ivr.adapters.schedule_rows import (_ATTEMPT_COLUMNS, _CALLBACK_COLUMNS, _attempt, _callback,
                                        her_deliveries, her_record)
from ivr.adapters.schedule_women import Enrolment, Women
from ivr.adapters.slot_answers import SlotLearning
from ivr.adapters.store import Store
from ivr.adapters.workers import Workers
from ivr.errors import BadInput
from scheduler.followups import Assignment, FollowUp, StoredAnswer, Worker
from scheduler.model import Attempt, CallbackRequest, Delivery, LifeEvent, Subscriber
from scheduler.notifications import Notification
from scheduler.outcome import Outcome
from scheduler.programme import Programme
from scheduler.questions_model import Answer, FollowUpToOpen

__all__ = ["Enrolment", "ScheduleStore", "MOVE_BATCH", "PLAN_BATCH", "_CALLBACK_COLUMNS",
           "_callback"]

PLAN_BATCH = 20000          # women planned per transaction (~0.3 s)


class ScheduleStore:
    """`move_batch`: out-of-slot calls moved per statement at a claim (schedule_calls)."""

    UPDATABLE = Women.UPDATABLE

    def __init__(self, store: Store, programme: Programme, *, move_batch: int = MOVE_BATCH,
                 learning: SlotLearning | None = None):
        """`learning`: retry_slots' side (slot_answers.SlotLearning: its prior's refresh,
        the rng of the draws); by default one of its own."""
        self.store = store
        self.programme = programme
        self.calls = Calls(store, programme, move_batch, learning)
        self.women = Women(store, programme)
        self.staff = Workers(store)
        self.answers = Answers(store, self.staff, programme)

    # ------------------------------------------------------------------ reading
    @property
    def programmes(self) -> list[Programme]:
        """The programmes this store serves: its one (several: ivr/adapters/schedules.py)."""
        return [self.programme]

    def of(self, name: str | None) -> ScheduleStore:
        """A programme's store by its name (None: the default): this one."""
        if name not in (None, self.programme.name):
            raise BadInput(f"programme {name!r} is not run by this store (it runs: "
                           f"{self.programme.name})")
        return self

    async def hers(self, sub_id: int) -> ScheduleStore:
        """The store of her programme: this one (several programmes: ivr/adapters/schedules.py)."""
        return self

    async def subscriber(self, sub_id: int) -> Subscriber:
        return await her_record(self.store, sub_id)

    async def deliveries_of(self, sub_id: int) -> list[Delivery]:
        return await her_deliveries(self.store, sub_id)

    async def callbacks_of(self, sub_id: int) -> list[CallbackRequest]:
        rows = await self.store.fetchall(
            f"SELECT {_CALLBACK_COLUMNS} FROM callback_requests WHERE subscriber_id = ? "
            "ORDER BY id", (sub_id,))
        return [_callback(r) for r in rows]

    async def live_attempts(self) -> list[Attempt]:
        rows = await self.store.fetchall(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE outcome IS NULL ORDER BY id")
        return [_attempt(r) for r in rows]

    async def next_wake(self) -> datetime | None:
        """The earliest instant at which plan, claim or reap may have something to do. Work
        waiting only for a live call of hers, or for her to be resumed, is not counted: the
        end of that call (or the resume) wakes the service. (CROSS JOIN makes SQLite walk
        the due deliveries in time order instead of scanning every active woman.)"""
        row = (await self.store.fetchall(
            "SELECT MIN(t) FROM ("
            " SELECT MIN(plan_at) AS t FROM subscribers WHERE plan_at IS NOT NULL"
            " UNION ALL SELECT MIN(acquired_until) FROM attempts WHERE outcome IS NULL"
            " UNION ALL SELECT MIN(c.next_attempt_at) FROM callback_requests c"
            f"  WHERE c.status = 'pending' AND {NO_LIVE_CALL.format('c')}"
            " UNION ALL SELECT (SELECT d.next_attempt_at FROM deliveries d"
            "  CROSS JOIN subscribers s ON s.id = d.subscriber_id"
            "  WHERE d.status = 'pending' AND d.next_attempt_at IS NOT NULL AND s.status = 'active'"
            f"  AND {NO_LIVE_CALL.format('d')} ORDER BY d.next_attempt_at LIMIT 1)) AS due"
        ))[0][0]
        return instant(row)

    # ------------------------------------------------------------------ planning
    async def run_plans(self, now: datetime, most: int | None = None,
                        share: tuple[int, int] | None = None) -> int:
        """Plan every woman whose plan_at has come, PLAN_BATCH per transaction: read with her
        latest delivery in one query, planned once per distinct case (schedule_bulk.Planner),
        written in a few statements. Each is planned at most once per call (a plan that asks
        to be run again at once waits for the next). `share` (k, n): only the women whose
        id is k modulo n, so that n nodes plan a day in parallel without meeting. On
        PostgreSQL: the set-based path (plan_sets.plan_by_cases; the same writes). `most`:
        only the `most` earliest (plan_at, id) now, the rest at the next call (`ivr run`
        plans a page a turn, so that a big day's plan never holds its calls up)."""
        if self.store.dialect == "postgresql":
            return await plan_by_cases(self.store, self.programme, now, share, most=most)
        return await self.plan_each(now, share, most)

    async def plan_each(self, now: datetime, share: tuple[int, int] | None = None,
                        most: int | None = None) -> int:
        """run_plans woman by woman (PLAN_SELECT rows, apply_plans): SQLite's path; on
        PostgreSQL the reference the set-based path is tested and measured against."""
        part = " AND s.programme = ?"                   # hers only (schedule_calls.py)
        args: list[Any] = [self.programme.name]
        if share is not None:
            part, args = part + " AND s.id % ? = ?", [*args, share[1], share[0]]
        due = (await self.store.fetchall(
            "SELECT COUNT(*) FROM subscribers s WHERE s.plan_at IS NOT NULL AND s.plan_at <= ?"
            + part, (epoch(now), *args)))[0][0]
        due = due if most is None else min(due, most)
        planner = Planner(self.programme, now)
        done = 0
        while done < due:
            async with self.store.transaction():
                rows = await self.store.fetchall(
                    f"{PLAN_SELECT} WHERE s.plan_at IS NOT NULL AND s.plan_at <= ?{part} "
                    "ORDER BY s.plan_at, s.id LIMIT ?",
                    (epoch(now), *args, min(PLAN_BATCH, due - done)))
                await apply_plans(self.store, [planner.plan_row(r) for r in rows], now)
            if not rows:
                break
            done += len(rows)
        return int(done)

    # ------------------------------------------------------------------ calls
    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        return await self.calls.claim(now, owner, limit)

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        return await self.calls.extend(attempt_id, owner, until)

    async def answered(self, attempt_id: int, at: datetime) -> None:
        await self.calls.answered(attempt_id, at)

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        return await self.calls.release(attempt_id, outcome, heard_share, ended_at)

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        return await self.calls.unclaim(attempt_id, due_at)

    async def reap(self, now: datetime) -> list[int]:
        return await self.calls.reap(now)

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        return await self.calls.missed_call(sub_id, now)

    # ------------------------------------------------------------------ women
    async def enrol(self, sub: Subscriber, now: datetime, *, actor: str = "system",
                    name: str | None = None, partner: str | None = None,
                    health_worker: str | None = None, consent_date: date | None = None,
                    re_enrol: bool = False) -> Subscriber:
        return await self.women.enrol(sub, now, actor=actor, name=name, partner=partner,
                                      health_worker=health_worker, consent_date=consent_date,
                                      re_enrol=re_enrol)

    async def enrol_many(self, rows: list[Enrolment], now: datetime, *,
                         actor: str) -> list[Subscriber]:
        return await self.women.enrol_many(rows, now, actor=actor)

    async def opted_out(self, phone: str) -> tuple[str, date] | None:
        return await self.women.opted_out(phone)

    async def update(self, sub_id: int, now: datetime, *, actor: str,
                     **fields: Any) -> Subscriber:
        return await self.women.update(sub_id, now, actor=actor, **fields)

    async def register_birth(self, sub_id: int, dob: date, now: datetime, *,
                             actor: str = "system") -> Subscriber:
        return await self.women.register_birth(sub_id, dob, now, actor=actor)

    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime, *,
                         actor: str = "system") -> Subscriber:
        return await self.women.life_event(sub_id, event, now, actor=actor)

    async def pause(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return await self.women.pause(sub_id, now, actor=actor)

    async def resume(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return await self.women.resume(sub_id, now, actor=actor)

    async def change_slot(self, sub_id: int, slot: str, now: datetime, *,
                          actor: str = "system") -> Subscriber:
        return await self.women.change_slot(sub_id, slot, now, actor=actor)

    async def opt_out(self, sub_id: int, now: datetime, *, actor: str = "system",
                      reason: str = "by_user",
                      detail: dict[str, Any] | None = None) -> Subscriber:
        return await self.women.opt_out(sub_id, now, actor=actor, reason=reason, detail=detail)

    # ------------------------------------------------------ workers, answers, follow-ups
    async def add_worker(self, name: str, phone: str, role: str, now: datetime, *,
                         actor: str = "system") -> Worker:
        return await self.staff.add_worker(name, phone, role, now, actor=actor)

    async def worker(self, worker_id: int) -> Worker:
        return await self.staff.worker(worker_id)

    async def workers(self) -> list[Worker]:
        return await self.staff.workers()

    async def assign(self, worker_id: int, sub_id: int, now: datetime, *,
                     actor: str = "system") -> Assignment:
        return await self.staff.assign(worker_id, sub_id, now, actor=actor)

    async def unassign(self, worker_id: int, sub_id: int, now: datetime, *,
                       actor: str = "system") -> Assignment:
        return await self.staff.unassign(worker_id, sub_id, now, actor=actor)

    async def assignments(self, *, subscriber_id: int | None = None,
                          worker_id: int | None = None) -> list[Assignment]:
        return await self.staff.assignments(subscriber_id=subscriber_id, worker_id=worker_id)

    async def record_answers(self, sub_id: int, attempt_id: int | None, week: str,
                             answers: list[Answer], now: datetime, *,
                             actor: str = "system") -> list[StoredAnswer]:
        return await self.answers.record_answers(sub_id, attempt_id, week, answers, now,
                                                 actor=actor)

    async def answers_of(self, sub_id: int, *, history: bool = False) -> list[StoredAnswer]:
        return await self.answers.answers_of(sub_id, history=history)

    async def open_follow_up(self, sub_id: int, follow_up: FollowUpToOpen, now: datetime, *,
                             answer_id: int | None = None, attempt_id: int | None = None,
                             actor: str = "system") -> FollowUp | None:
        return await self.answers.open_follow_up(sub_id, follow_up, now, answer_id=answer_id,
                                                 attempt_id=attempt_id, actor=actor)

    async def follow_ups(self, *, open_only: bool = True, worker_id: int | None = None,
                         subscriber_id: int | None = None) -> list[FollowUp]:
        return await self.answers.follow_ups(open_only=open_only, worker_id=worker_id,
                                             subscriber_id=subscriber_id)

    async def close_follow_up(self, follow_up_id: int, outcome: str, actor: str,
                              now: datetime, *, come_on: date | None = None) -> FollowUp:
        return await self.answers.close_follow_up(follow_up_id, outcome, actor, now,
                                                  come_on=come_on)

    async def notifications_of(self, sub_id: int) -> list[Notification]:
        return await self.answers.notifications_of(sub_id)
