"""The two scheduling stores behind one async face, so one contract suite drives both.

MemoryStore (scheduler/memory.py, pure, sync) is wrapped in MemoryFace; ScheduleStore
(ivr/adapters/schedule_store.py, SQLite) in SqliteFace. Both offer the same coroutines, plus
restart(): a crash and a restart (MemoryStore: its rows saved and reloaded; SQLite: the
connection closed and the same file opened again). Results from MemoryFace are deep copies,
so a test never holds a live reference into the in-memory store.
"""
from __future__ import annotations

import asyncio
from copy import deepcopy
from datetime import date, datetime
from pathlib import Path

from ivr.adapters.schedule_store import _CALLBACK_COLUMNS, ScheduleStore, _callback
from ivr.adapters.store import Store
from scheduler.memory import MemoryStore
from scheduler.model import Attempt, CallbackRequest, Delivery, LifeEvent, Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import Programme

ACTOR = "contract"
TIMEOUT = 30.0          # every await on the database is bounded


async def _bounded(coro):
    async with asyncio.timeout(TIMEOUT):
        return await coro


class MemoryFace:
    name = "memory"

    def __init__(self, programme: Programme):
        self.programme = programme
        self.mem = MemoryStore(programme)

    async def close(self) -> None:
        pass

    async def restart(self) -> None:
        self.mem = MemoryStore.from_rows(self.programme, self.mem.rows())

    async def enrol(self, sub: Subscriber, now: datetime) -> Subscriber:
        return deepcopy(self.mem.enrol(sub, now))

    async def subscriber(self, sub_id: int) -> Subscriber:
        return deepcopy(self.mem._sub(sub_id))

    async def register_birth(self, sub_id: int, dob: date, now: datetime) -> Subscriber:
        return deepcopy(self.mem.register_birth(sub_id, dob, now))

    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime) -> Subscriber:
        return deepcopy(self.mem.life_event(sub_id, event, now))

    async def pause(self, sub_id: int, now: datetime) -> Subscriber:
        return deepcopy(self.mem.pause(sub_id, now))

    async def resume(self, sub_id: int, now: datetime) -> Subscriber:
        return deepcopy(self.mem.resume(sub_id, now))

    async def opt_out(self, sub_id: int, now: datetime) -> Subscriber:
        return deepcopy(self.mem.opt_out(sub_id, now))

    async def change_slot(self, sub_id: int, slot: str, now: datetime) -> Subscriber:
        return deepcopy(self.mem.change_slot(sub_id, slot, now))

    async def run_plans(self, now: datetime) -> int:
        return self.mem.run_plans(now)

    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        return deepcopy(self.mem.claim(now, owner, limit))

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        return self.mem.extend(attempt_id, owner, until)

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        return deepcopy(self.mem.release(attempt_id, outcome, heard_share, ended_at))

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        return self.mem.unclaim(attempt_id, due_at)

    async def reap(self, now: datetime) -> list[int]:
        return self.mem.reap(now)

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        return deepcopy(self.mem.missed_call(sub_id, now))

    async def deliveries_of(self, sub_id: int) -> list[Delivery]:
        return deepcopy(self.mem.deliveries_of(sub_id))

    async def live_attempts(self) -> list[Attempt]:
        return sorted(deepcopy(self.mem.live_attempts()), key=lambda a: a.id)

    async def callbacks_of(self, sub_id: int) -> list[CallbackRequest]:
        return deepcopy(sorted((c for c in self.mem.callbacks.values()
                                if c.subscriber_id == sub_id), key=lambda c: c.id))

    async def next_wake(self) -> datetime | None:
        return self.mem.next_wake()


class SqliteFace:
    name = "sqlite"

    def __init__(self, programme: Programme, path: Path):
        self.programme = programme
        self.path = path
        self.store: Store | None = None
        self.sched: ScheduleStore | None = None

    async def open(self) -> "SqliteFace":
        self.store = await _bounded(Store.open(self.path))
        self.sched = ScheduleStore(self.store, self.programme)
        return self

    async def close(self) -> None:
        if self.store is not None:
            await _bounded(self.store.close())
            self.store = self.sched = None

    async def restart(self) -> None:
        await self.close()
        await self.open()

    async def enrol(self, sub: Subscriber, now: datetime) -> Subscriber:
        return await _bounded(self.sched.enrol(sub, now, actor=ACTOR))

    async def subscriber(self, sub_id: int) -> Subscriber:
        return await _bounded(self.sched.subscriber(sub_id))

    async def register_birth(self, sub_id: int, dob: date, now: datetime) -> Subscriber:
        return await _bounded(self.sched.register_birth(sub_id, dob, now, actor=ACTOR))

    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime) -> Subscriber:
        return await _bounded(self.sched.life_event(sub_id, event, now, actor=ACTOR))

    async def pause(self, sub_id: int, now: datetime) -> Subscriber:
        return await _bounded(self.sched.pause(sub_id, now, actor=ACTOR))

    async def resume(self, sub_id: int, now: datetime) -> Subscriber:
        return await _bounded(self.sched.resume(sub_id, now, actor=ACTOR))

    async def opt_out(self, sub_id: int, now: datetime) -> Subscriber:
        return await _bounded(self.sched.opt_out(sub_id, now, actor=ACTOR))

    async def change_slot(self, sub_id: int, slot: str, now: datetime) -> Subscriber:
        return await _bounded(self.sched.change_slot(sub_id, slot, now, actor=ACTOR))

    async def run_plans(self, now: datetime) -> int:
        return await _bounded(self.sched.run_plans(now))

    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        return await _bounded(self.sched.claim(now, owner, limit))

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        return await _bounded(self.sched.extend(attempt_id, owner, until))

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        return await _bounded(self.sched.release(attempt_id, outcome, heard_share, ended_at))

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        return await _bounded(self.sched.unclaim(attempt_id, due_at))

    async def reap(self, now: datetime) -> list[int]:
        return await _bounded(self.sched.reap(now))

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        return await _bounded(self.sched.missed_call(sub_id, now))

    async def deliveries_of(self, sub_id: int) -> list[Delivery]:
        return await _bounded(self.sched.deliveries_of(sub_id))

    async def live_attempts(self) -> list[Attempt]:
        return await _bounded(self.sched.live_attempts())

    async def callbacks_of(self, sub_id: int) -> list[CallbackRequest]:
        rows = await _bounded(self.store.fetchall(
            f"SELECT {_CALLBACK_COLUMNS} FROM callback_requests WHERE subscriber_id = ? "
            "ORDER BY id", (sub_id,)))
        return [_callback(r) for r in rows]

    async def next_wake(self) -> datetime | None:
        return await _bounded(self.sched.next_wake())


async def open_face(kind: str, programme: Programme, tmp_path: Path):
    if kind == "memory":
        return MemoryFace(programme)
    return await SqliteFace(programme, tmp_path / "contract.db").open()
