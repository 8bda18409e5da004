"""MemoryStore (sync, for the simulation's speed) behind the async store interface
(scheduler/store.py's Schedule). Results are copies: a caller never holds a live reference
into the store. The actor of a change is not kept (the in-memory store has no audit trail).
"""
from __future__ import annotations

from copy import deepcopy
from datetime import date, datetime
from typing import Any

from scheduler.memory import MemoryStore
from scheduler.model import Attempt, CallbackRequest, Delivery, LifeEvent, Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import Programme


class MemorySchedule:
    def __init__(self, programme: Programme, mem: MemoryStore | None = None):
        self.programme = programme
        self.mem = mem if mem is not None else MemoryStore(programme)

    async def enrol(self, sub: Subscriber, now: datetime, *,
                    actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.enrol(sub, now))

    async def register_birth(self, sub_id: int, dob: date, now: datetime, *,
                             actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.register_birth(sub_id, dob, now))

    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime, *,
                         actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.life_event(sub_id, event, now))

    async def pause(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.pause(sub_id, now))

    async def resume(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.resume(sub_id, now))

    async def change_slot(self, sub_id: int, slot: str, now: datetime, *,
                          actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.change_slot(sub_id, slot, now))

    async def opt_out(self, sub_id: int, now: datetime, *, actor: str = "system",
                      reason: str = "by_user",
                      detail: dict[str, Any] | None = None) -> Subscriber:
        return deepcopy(self.mem.opt_out(sub_id, now, reason))

    async def run_plans(self, now: datetime) -> int:
        return self.mem.run_plans(now)

    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        return deepcopy(self.mem.claim(now, owner, limit))

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        return self.mem.extend(attempt_id, owner, until)

    async def answered(self, attempt_id: int, at: datetime) -> None:
        self.mem.answered(attempt_id, at)

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        return deepcopy(self.mem.release(attempt_id, outcome, heard_share, ended_at))

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        return self.mem.unclaim(attempt_id, due_at)

    async def reap(self, now: datetime) -> list[int]:
        return self.mem.reap(now)

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        return deepcopy(self.mem.missed_call(sub_id, now))

    async def subscriber(self, sub_id: int) -> Subscriber:
        return deepcopy(self.mem.subscriber(sub_id))

    async def deliveries_of(self, sub_id: int) -> list[Delivery]:
        return deepcopy(self.mem.deliveries_of(sub_id))

    async def callbacks_of(self, sub_id: int) -> list[CallbackRequest]:
        return deepcopy(self.mem.callbacks_of(sub_id))

    async def live_attempts(self) -> list[Attempt]:
        return sorted(deepcopy(self.mem.live_attempts()), key=lambda a: a.id)

    async def next_wake(self) -> datetime | None:
        return self.mem.next_wake()
