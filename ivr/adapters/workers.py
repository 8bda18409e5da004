"""Health workers and whom they follow, in the store (tables of migration 008_answers): the
twin of scheduler/memory_facts.py's workers. Each write is one transaction with its audit row
(the worker's phone never in it). The checks are scheduler/followups.py's."""
from __future__ import annotations

from datetime import datetime

from ivr.adapters.columns import epoch, instant
from ivr.adapters.schedule_rows import her_record
from ivr.adapters.store import Store
from ivr.adapters.subscribers import audit
from scheduler.followups import Assignment, Worker, check_assign, check_worker
from scheduler.model import SchedulerError
from scheduler.questions_model import OwnerRole

_WORKER_COLUMNS = "id, name, phone, role, created_at, active"
_ASSIGNMENT_COLUMNS = "id, worker_id, subscriber_id, role, since, until"


def _worker(r) -> Worker:
    return Worker(r["id"], r["name"], r["phone"], OwnerRole(r["role"]), instant(r["created_at"]),
                  bool(r["active"]))


def _assignment(r) -> Assignment:
    return Assignment(r["id"], r["worker_id"], r["subscriber_id"], OwnerRole(r["role"]),
                      instant(r["since"]), instant(r["until"]))


async def inserted_id(store: Store, sql: str, params: tuple) -> int:
    """INSERT ... RETURNING id, read the portable way (fetchall, not lastrowid)."""
    return int((await store.fetchall(sql + " RETURNING id", params))[0][0])


def matching(**columns: int | None) -> tuple[str, tuple]:
    """' AND c = ?' for each column given (not None), and its parameters: no `? IS NULL`,
    whose type PostgreSQL cannot infer."""
    given = {c: v for c, v in columns.items() if v is not None}
    return "".join(f" AND {c} = ?" for c in given), tuple(given.values())


class Workers:
    def __init__(self, store: Store):
        self.store = store

    async def add_worker(self, name: str, phone: str, role: str, now: datetime, *,
                         actor: str = "system") -> Worker:
        name, r = check_worker(name, phone, role)
        async with self.store.transaction():
            taken = await self.store.fetchall(
                "SELECT id FROM workers WHERE phone = ? AND active = 1", (phone,))
            if taken:
                raise SchedulerError(f"this phone is already a worker's (worker {taken[0][0]})")
            worker_id = await inserted_id(
                self.store, "INSERT INTO workers (name, phone, role, created_at, active) "
                "VALUES (?, ?, ?, ?, 1)", (name, phone, r.value, epoch(now)))
            await audit(self.store, actor=actor, action="worker_add", at=now,
                        detail={"worker": worker_id, "role": r.value})
            return Worker(worker_id, name, phone, r, now)

    async def worker(self, worker_id: int) -> Worker:
        rows = await self.store.fetchall(
            f"SELECT {_WORKER_COLUMNS} FROM workers WHERE id = ?", (worker_id,))
        return check_assign(_worker(rows[0]) if rows else None, worker_id)

    async def workers(self) -> list[Worker]:
        rows = await self.store.fetchall(
            f"SELECT {_WORKER_COLUMNS} FROM workers WHERE active = 1 ORDER BY id")
        return [_worker(r) for r in rows]

    async def assign(self, worker_id: int, sub_id: int, now: datetime, *,
                     actor: str = "system") -> Assignment:
        async with self.store.transaction():
            w = await self.worker(worker_id)
            await her_record(self.store, sub_id)
            previous = None
            for a in await self.assignments(subscriber_id=sub_id):
                if a.role is w.role:
                    if a.worker_id == worker_id:
                        return a
                    previous = a.worker_id
                    await self.store.execute(
                        "UPDATE assignments SET until = ? WHERE id = ?", (epoch(now), a.id))
            new_id = await inserted_id(
                self.store, "INSERT INTO assignments (worker_id, subscriber_id, role, since) "
                "VALUES (?, ?, ?, ?)", (worker_id, sub_id, w.role.value, epoch(now)))
            await audit(self.store, actor=actor, action="assign", at=now, subscriber_id=sub_id,
                        detail={"worker": worker_id, "role": w.role.value,
                                **({"previous_worker": previous} if previous else {})})
            return Assignment(new_id, worker_id, sub_id, w.role, now)

    async def unassign(self, worker_id: int, sub_id: int, now: datetime, *,
                       actor: str = "system") -> Assignment:
        async with self.store.transaction():
            w = await self.worker(worker_id)
            await her_record(self.store, sub_id)
            mine = await self.assignments(subscriber_id=sub_id, worker_id=worker_id)
            if not mine:
                raise SchedulerError(f"worker {worker_id} does not follow woman {sub_id}")
            await self.store.execute("UPDATE assignments SET until = ? WHERE id = ?",
                                     (epoch(now), mine[0].id))
            await audit(self.store, actor=actor, action="unassign", at=now,
                        subscriber_id=sub_id, detail={"worker": worker_id, "role": w.role.value})
            return Assignment(mine[0].id, worker_id, sub_id, w.role, mine[0].since, now)

    async def assignments(self, *, subscriber_id: int | None = None,
                          worker_id: int | None = None) -> list[Assignment]:
        where, params = matching(subscriber_id=subscriber_id, worker_id=worker_id)
        rows = await self.store.fetchall(
            f"SELECT {_ASSIGNMENT_COLUMNS} FROM assignments WHERE until IS NULL{where} "
            "ORDER BY id", params)
        return [_assignment(r) for r in rows]
