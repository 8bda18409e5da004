"""Every scheduling store behind scheduler/store.py's Schedule, so one contract suite drives
them all with no branch on which store it is.

A face is the store itself (its Schedule methods, every await bounded) plus restart(): a
crash and a restart (memory: its rows saved and reloaded; SQLite: the connection closed and
the same file opened again). A new store (PostgreSQL) needs a face here: open, close,
restart.
"""
from __future__ import annotations

import asyncio
import random
from copy import deepcopy
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.slot_answers import SlotLearning
from ivr.adapters.store import Store
from scheduler.memory import MemoryStore
from scheduler.memory_schedule import MemorySchedule
from scheduler.programme import Programme
from scheduler.store import Schedule

ACTOR = "contract"
TIMEOUT = 30.0          # every await on a store is bounded
STORES = ("memory", "sqlite", "postgres")


class Face:
    """A store as the suite drives it: each Schedule coroutine bounded by TIMEOUT, changes
    to a woman made by ACTOR."""
    schedule: Schedule

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "schedule":
            raise AttributeError(name)
        method = getattr(self.schedule, name)

        async def bounded(*args: Any, **kwargs: Any) -> Any:
            if name in ("enrol", "register_birth", "life_event", "pause", "resume",
                        "change_slot", "opt_out", "add_worker", "assign", "unassign",
                        "record_answers", "open_follow_up"):
                kwargs.setdefault("actor", ACTOR)
            async with asyncio.timeout(TIMEOUT):
                return await method(*args, **kwargs)
        return bounded


class MemoryFace(Face):
    def __init__(self, programme: Programme):
        self.programme = programme
        self.schedule = self.memory = MemorySchedule(programme, self._store())

    def _store(self) -> MemoryStore:
        """retry_slots learned needs the draws' rng (the upper-confidence rule draws none)."""
        return MemoryStore(self.programme, rng=random.Random(1))

    async def close(self) -> None:
        pass

    async def restart(self) -> None:
        rows = self.memory.mem.rows()
        facts = deepcopy(self.memory.facts)      # workers, answers, follow-ups, as saved
        self.schedule = self.memory = MemorySchedule(
            self.programme, MemoryStore.from_rows(self.programme, rows, random.Random(1)),
            facts)


class SqliteFace(Face):
    """SQLite (a file path) or PostgreSQL (a connection string): the same SQL store."""

    def __init__(self, programme: Programme, path: Path | str, key_file: Path | None = None):
        self.programme = programme
        self.path = path
        self.key_file = key_file
        self.store: Store | None = None

    async def open(self) -> "SqliteFace":
        async with asyncio.timeout(TIMEOUT):
            self.store = await Store.open(self.path, key_file=self.key_file)
        # the prior of retry_slots learned read at every call, as the in-memory store's
        learning = SlotLearning(self.programme, random.Random(1), refresh=timedelta(0))
        self.schedule = self.sched = ScheduleStore(self.store, self.programme,
                                                   learning=learning)
        return self

    async def close(self) -> None:
        if self.store is not None:
            async with asyncio.timeout(TIMEOUT):
                await self.store.close()
            self.store = None

    async def restart(self) -> None:
        await self.close()
        await self.open()


async def open_face(kind: str, programme: Programme, tmp_path: Path,
                    new_pg_database: Callable[[], str] | None = None) -> Face:
    if kind == "memory":
        return MemoryFace(programme)
    if kind == "postgres":
        assert new_pg_database is not None
        return await SqliteFace(programme, new_pg_database(), tmp_path / "pg.key").open()
    return await SqliteFace(programme, tmp_path / "contract.db").open()
