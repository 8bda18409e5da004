"""The scheduling store's interface: what the calling service, the operators' commands and
the contract suite (tests/contract) ask of any store. APScheduler 4's design: claims with
leases, release with results, reap of the claims whose owner died.

Every store reads the facts and applies the pure rules' changes (scheduler/rules.py) in one
transaction. Implementations: MemorySchedule (scheduler/memory_schedule.py, async over the
in-memory MemoryStore) and ScheduleStore (ivr/adapters/schedule_store.py, SQLite). A new
store is an adapter that passes tests/contract.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from scheduler.followups import Assignment, FollowUp, StoredAnswer, Worker
from scheduler.model import Attempt, CallbackRequest, Delivery, LifeEvent, Subscriber
from scheduler.notifications import Notification
from scheduler.outcome import Outcome
from scheduler.questions_model import Answer, FollowUpToOpen


class Schedule(Protocol):
    # ---- women (actor: who made the change, for the audit trail where a store keeps one)
    async def enrol(self, sub: Subscriber, now: datetime, *,
                    actor: str = "system") -> Subscriber: ...
    async def register_birth(self, sub_id: int, dob: date, now: datetime, *,
                             actor: str = "system") -> Subscriber: ...
    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime, *,
                         actor: str = "system") -> Subscriber: ...
    async def pause(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber: ...
    async def resume(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber: ...
    async def change_slot(self, sub_id: int, slot: str, now: datetime, *,
                          actor: str = "system") -> Subscriber: ...
    async def opt_out(self, sub_id: int, now: datetime, *, actor: str = "system",
                      reason: str = "by_user",
                      detail: dict[str, Any] | None = None) -> Subscriber: ...

    async def run_plans(self, now: datetime, most: int | None = None) -> int:
        """Plan every woman whose plan_at has come (the `most` earliest, by plan_at, when
        given: the rest on the next call); returns how many."""

    # ---- calls
    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        """Due calls (callbacks first), at most one live call per woman, each a new live
        attempt leased to `owner`, carrying her phone and language."""

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        """Renew the lease of a live call still in progress; False if it is not ours."""

    async def answered(self, attempt_id: int, at: datetime) -> None:
        """She answered the live call (what the reap rule reads if its owner dies)."""

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        """Close a live attempt and apply the scheduler's decisions, in one transaction;
        SchedulerError when it is not live."""

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        """A live attempt whose call was never placed: undone, no attempt counted, due again
        at `due_at`."""

    async def reap(self, now: datetime) -> list[int]:
        """Close live attempts whose lease ran out (their owner died), by rules.reaped."""

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None: ...

    # ---- reading
    async def subscriber(self, sub_id: int) -> Subscriber: ...
    async def deliveries_of(self, sub_id: int) -> list[Delivery]: ...
    async def callbacks_of(self, sub_id: int) -> list[CallbackRequest]: ...
    async def live_attempts(self) -> list[Attempt]: ...

    async def next_wake(self) -> datetime | None:
        """The earliest instant at which plan, claim or reap may have something to do."""

    # ---- workers, answers, follow-ups (scheduler/followups.py: the facts and the decisions)
    async def add_worker(self, name: str, phone: str, role: str, now: datetime, *,
                         actor: str = "system") -> Worker:
        """SchedulerError when the phone is an active worker's already."""
    async def worker(self, worker_id: int) -> Worker:
        """SchedulerError when there is no such active worker."""
    async def workers(self) -> list[Worker]: ...
    async def assign(self, worker_id: int, sub_id: int, now: datetime, *,
                     actor: str = "system") -> Assignment:
        """The worker follows her from now on, in place of her worker of the same role."""
    async def unassign(self, worker_id: int, sub_id: int, now: datetime, *,
                       actor: str = "system") -> Assignment: ...
    async def assignments(self, *, subscriber_id: int | None = None,
                          worker_id: int | None = None) -> list[Assignment]:
        """The current ones."""

    async def record_answers(self, sub_id: int, attempt_id: int | None, week: str,
                             answers: list[Answer], now: datetime, *,
                             actor: str = "system") -> list[StoredAnswer]:
        """Store one call's answers for `week` (followups.iso_week); returns those written."""
    async def answers_of(self, sub_id: int, *, history: bool = False) -> list[StoredAnswer]:
        """Her current answers (with history, the superseded ones too), by week, question."""

    async def open_follow_up(self, sub_id: int, follow_up: FollowUpToOpen, now: datetime, *,
                             answer_id: int | None = None, attempt_id: int | None = None,
                             actor: str = "system") -> FollowUp | None:
        """Owned by her worker of the role, else the role's pool; None when a follow-up of
        the same rule is open for her already."""
    async def follow_ups(self, *, open_only: bool = True, worker_id: int | None = None,
                         subscriber_id: int | None = None) -> list[FollowUp]:
        """By due date; for a worker: those they own and their role's pool."""
    async def close_follow_up(self, follow_up_id: int, outcome: str, actor: str,
                              now: datetime, *, come_on: date | None = None) -> FollowUp:
        """SchedulerError when it is unknown or closed already, or the outcome unknown.
        ask_to_come with `come_on` (her local today or later) places her notification call
        in the same transaction: a pending delivery `notify:come:<date>`
        (scheduler/notifications.py); SchedulerError without a date, with a past one, or
        when she can no longer be called."""

    async def notifications_of(self, sub_id: int) -> list[Notification]:
        """The notification calls placed for her, oldest first."""
