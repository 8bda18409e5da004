"""Bulk paths of the scheduling store, for millions of women: plans applied with executemany,
and a whole import enrolled in a handful of statements. Part of ScheduleStore
(ivr/adapters/schedule_store.py); the decisions are the same pure ones (plan_deliveries).

Women who share a day of LMP, slot and zone share a plan: `Planner` computes
plan_deliveries() once per distinct case at a given `now` and reuses it (the only
woman-specific part of a plan is the id of the delivery it closes, always her latest).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

from ivr.adapters.columns import epoch, instant
from ivr.adapters.deliveries import _delivery
from ivr.adapters.store import Store
from ivr.adapters.subscribers import _subscriber
from scheduler.model import Delivery, DeliveryStatus, Subscriber
from scheduler.plan import Close, Plan, plan_deliveries
from scheduler.programme import Programme

# A woman's columns read with her latest delivery (NULLs when she has none yet).
PLAN_SELECT = (
    "SELECT s.id, s.phone, s.language, s.slot, s.timezone, s.track, s.lmp, s.edd, s.child_dob, "
    "s.status, s.status_reason, s.enrolled_at, s.updated_at, s.plan_at, "
    "d.id AS d_id, d.message_key, d.due_at, d.status AS d_status, d.attempts, "
    "d.next_attempt_at, d.closed_at, d.heard_share, d.acquired_by, d.acquired_until "
    "FROM subscribers s LEFT JOIN deliveries d ON d.id = "
    "(SELECT MAX(id) FROM deliveries WHERE subscriber_id = s.id)")


@dataclass(frozen=True)
class WomanPlan:
    subscriber_id: int
    slot: str
    plan: Plan


class Planner:
    """plan_deliveries() at one instant, computed once per distinct case."""

    def __init__(self, programme: Programme, now: datetime):
        self.programme = programme
        self.now = now
        self._memo: dict[tuple, Plan] = {}

    def plan(self, sub: Subscriber, latest: Delivery | None) -> Plan:
        return plan_deliveries(self.programme, sub, latest, self.now)

    def plan_row(self, row) -> WomanPlan:
        """Her plan from a PLAN_SELECT row."""
        key = (row["status"], row["timezone"], row["slot"], row["lmp"], row["edd"],
               row["child_dob"], row["message_key"], row["d_status"])
        plan = self._memo.get(key)
        if plan is None:
            latest = None
            if row["d_id"] is not None:
                latest = _delivery({**dict(row), "id": row["d_id"], "subscriber_id": row["id"],
                                    "status": row["d_status"]})
            plan = self._memo[key] = self.plan(_subscriber(row), latest)
        elif plan.close:
            plan = replace(plan, close=tuple(Close(row["d_id"], c.status) for c in plan.close))
        return WomanPlan(row["id"], row["slot"], plan)


async def apply_plans(store: Store, plans: list[WomanPlan], now: datetime) -> None:
    """Write the plans: closes, opens, then each woman's next planning time and status."""
    at = epoch(now)
    closes = [(c.status.value, at, c.delivery_id) for p in plans for c in p.plan.close]
    if closes:
        await store.executemany(
            "UPDATE deliveries SET status = ?, closed_at = ?, next_attempt_at = NULL "
            "WHERE id = ?", closes)
    opens = [(p.subscriber_id, o.message_key, p.slot, epoch(o.due_at), o.status.value,
              epoch(o.next_attempt_at), None if o.status is DeliveryStatus.PENDING else at)
             for p in plans for o in p.plan.open]
    if opens:
        await store.executemany(
            "INSERT INTO deliveries (subscriber_id, message_key, slot, due_at, status, "
            "next_attempt_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (subscriber_id, message_key) DO NOTHING", opens)
    await store.executemany("UPDATE subscribers SET plan_at = ? WHERE id = ?",
                            [(epoch(p.plan.plan_at), p.subscriber_id) for p in plans])
    done = [(p.plan.status.value, at, p.subscriber_id) for p in plans if p.plan.status]
    if done:                                 # her programme is complete
        await store.executemany(
            "UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?", done)


async def insert_women(store: Store, programme: Programme, rows: list, subs: list[Subscriber],
                       now: datetime, actor: str) -> list[Subscriber]:
    """Insert checked women (ids given in order after the largest), audit each, and plan
    her first message. `rows` are the Enrolments the checked `subs` came from."""
    base = (await store.fetchall("SELECT COALESCE(MAX(id), 0) FROM subscribers"))[0][0]
    planner = Planner(programme, now)
    at = epoch(now)
    out, plans, values, audits = [], [], [], []
    for i, (e, sub) in enumerate(zip(rows, subs), start=base + 1):
        sub = replace(sub, id=i)
        plan = planner.plan(sub, None)
        status = plan.status or sub.status
        out.append(replace(sub, status=status, status_reason=None, enrolled_at=instant(at),
                           updated_at=instant(at), plan_at=instant(epoch(plan.plan_at))))
        plans.append(WomanPlan(i, sub.slot, plan))
        values.append((i, sub.phone, e.name, sub.language, sub.slot, sub.timezone,
                       programme.name, sub.track.value, _iso(sub.lmp), _iso(sub.edd),
                       _iso(sub.child_dob), e.partner, e.health_worker, _iso(e.consent_date),
                       status.value, at, at))
        audits.append((at, actor, i, "enrol", json.dumps(
            {"language": sub.language, "slot": sub.slot, "track": sub.track.value,
             "partner": e.partner}, ensure_ascii=False, sort_keys=True)))
    await store.executemany(
        "INSERT INTO subscribers (id, phone, name, language, slot, timezone, programme, track, "
        "lmp, edd, child_dob, partner, health_worker, consent_date, status, enrolled_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
    await store.executemany(
        "INSERT INTO audit (at, actor, subscriber_id, action, detail) VALUES (?, ?, ?, ?, ?)",
        audits)
    await apply_plans(store, plans, now)
    return out


async def live_phones(store: Store, phones: list[str]) -> dict[str, int]:
    """phone -> id of the active or paused woman on it, for those of `phones` in use."""
    found: dict[str, int] = {}
    for i in range(0, len(phones), 500):
        chunk = phones[i:i + 500]
        rows = await store.fetchall(
            f"SELECT phone, id FROM subscribers WHERE phone IN ({', '.join('?' * len(chunk))}) "
            "AND status IN ('active', 'paused')", tuple(chunk))
        found.update((r[0], r[1]) for r in rows)
    return found


def _iso(d) -> str | None:
    return None if d is None else d.isoformat()
