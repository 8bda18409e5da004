"""The scheduling store as the calling service sees it: the contract of scheduler/memory.py's
MemoryStore (APScheduler 4's design: claims with leases, release with results, reap), async.

ivr/adapters/schedule_store.py implements it on SQLite; the contract tests run the same
scenarios against both. Everything is in the database: no state is kept in memory between
calls, so a crash loses nothing and two processes see the same truth.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from scheduler.model import Attempt, CallbackRequest, LifeEvent, Subscriber
from scheduler.outcome import Outcome


class Schedule(Protocol):
    async def enrol(self, sub: Subscriber, now: datetime) -> Subscriber: ...
    async def register_birth(self, sub_id: int, dob: date, now: datetime) -> Subscriber: ...
    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime) -> Subscriber: ...
    async def pause(self, sub_id: int, now: datetime) -> Subscriber: ...
    async def change_slot(self, sub_id: int, slot: str, now: datetime) -> Subscriber: ...
    async def resume(self, sub_id: int, now: datetime) -> Subscriber: ...
    async def opt_out(self, sub_id: int, now: datetime, *, actor: str = "system",
                      reason: str = "by_user", detail: dict | None = None) -> Subscriber: ...

    async def run_plans(self, now: datetime) -> int:
        """Plan every woman whose plan_at has come; returns how many."""

    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        """Due calls (callbacks first), at most one live call per woman, each a new live
        attempt row leased to `owner`."""

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool: ...

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        """Close a live attempt and apply the scheduler's decisions, in one transaction."""

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        """A live attempt whose call was never placed: undone, no attempt counted, due again
        at `due_at`."""

    async def reap(self, now: datetime) -> list[int]:
        """Close live attempts whose lease ran out (their owner died)."""

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None: ...

    async def live_attempts(self) -> list[Attempt]: ...

    async def next_wake(self) -> datetime | None:
        """The earliest instant at which plan, claim or reap may have something to do."""
