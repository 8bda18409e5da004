"""Enrolling many women at once, fast: the same decisions as ScheduleStore.enrol_many
(lifecycle.enrol, then plan_deliveries for a woman with no delivery yet), written with one
executemany per table instead of seven statements per woman. 100,000 women go in within
seconds instead of about a minute.

tests/operators/test_bulk.py checks that it writes exactly the rows enrol_many writes.
The caller has checked the phones against the store (ivr/operators/enrolment.py) inside the
same transaction; the unique index on live phones stays the last word.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

from ivr.adapters.columns import epoch
from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from scheduler import lifecycle
from scheduler.model import SchedulerError, Subscriber
from scheduler.plan import plan_deliveries


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


async def enrol_bulk(sched: ScheduleStore, rows: list[Enrolment], now: datetime, *,
                     actor: str) -> list[Subscriber]:
    """All or nothing (one transaction, joined when one is open). SchedulerError names the
    position of a row the scheduler refuses."""
    programme, store = sched.programme, sched.store
    subs, plans = [], []
    for i, e in enumerate(rows):
        try:
            sub = lifecycle.enrol(programme, e.subscriber, now)
            if not sub.phone:
                raise SchedulerError("a phone number is needed")
            plans.append(plan_deliveries(programme, sub, None, now))
        except SchedulerError as err:
            raise SchedulerError(f"row {i + 1}: {err}") from None
        subs.append(sub)
    at = epoch(now)
    async with store.transaction():
        first = (await store.fetchall("SELECT COALESCE(MAX(id), 0) FROM subscribers"))[0][0] + 1
        out, sub_rows, audit_rows, delivery_rows = [], [], [], []
        for n, (e, sub, plan) in enumerate(zip(rows, subs, plans)):
            sid = first + n
            status = plan.status or sub.status
            sub_rows.append((sid, sub.phone, e.name, sub.language, sub.slot, sub.timezone,
                             programme.name, sub.track.value, _iso(sub.lmp), _iso(sub.edd),
                             _iso(sub.child_dob), e.partner, e.health_worker,
                             _iso(e.consent_date), status.value, at, at, epoch(plan.plan_at)))
            audit_rows.append((at, actor, sid, "enrol", json.dumps(
                {"language": sub.language, "slot": sub.slot, "track": sub.track.value,
                 "partner": e.partner}, ensure_ascii=False, sort_keys=True)))
            for o in plan.open:
                pending = o.status.value == "pending"
                delivery_rows.append((sid, o.message_key, sub.slot, epoch(o.due_at),
                                      o.status.value, epoch(o.next_attempt_at),
                                      None if pending else at))
            out.append(replace(sub, id=sid, status=status, plan_at=plan.plan_at,
                               updated_at=now))
        await store.executemany(
            "INSERT INTO subscribers (id, phone, name, language, slot, timezone, programme, "
            "track, lmp, edd, child_dob, partner, health_worker, consent_date, status, "
            "enrolled_at, updated_at, plan_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", sub_rows)
        await store.executemany(
            "INSERT INTO audit (at, actor, subscriber_id, action, detail) VALUES (?, ?, ?, ?, ?)",
            audit_rows)
        await store.executemany(
            "INSERT INTO deliveries (subscriber_id, message_key, slot, due_at, status, "
            "next_attempt_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", delivery_rows)
    return out
