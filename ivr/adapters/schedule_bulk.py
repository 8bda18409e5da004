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
from typing import NamedTuple

from ivr.adapters.columns import day, epoch, instant
from ivr.adapters.lists import any_of
from ivr.adapters.store import Store
from ivr.adapters.subscribers import _iso
from scheduler.model import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from scheduler.notifications import PREFIX as NOTIFY_PREFIX
from scheduler.plan import Plan, plan_deliveries
from scheduler.programme import Programme

# What plan_deliveries() reads of a woman and of her latest delivery (NULLs when she has
# none yet), in the order of a PLAN_SELECT row. Plain indexing: the fast path for millions.
# Her notification calls (scheduler/notifications.py) are not her messages: never planned.
A_MESSAGE = f"substr(message_key, 1, {len(NOTIFY_PREFIX)}) <> '{NOTIFY_PREFIX}'"
PLAN_SELECT = (
    "SELECT s.id, s.slot, s.timezone, s.status, s.lmp, s.edd, s.child_dob, "
    "d.id, d.message_key, d.status "
    "FROM subscribers s LEFT JOIN deliveries d ON d.id = (SELECT id FROM deliveries "
    f"WHERE subscriber_id = s.id AND {A_MESSAGE} ORDER BY id DESC LIMIT 1)")


SUBSCRIBER_ROW = ("id", "phone", "name", "language", "slot", "timezone", "programme", "track",
                  "lmp", "edd", "child_dob", "partner", "health_worker", "consent_date", "status",
                  "enrolled_at", "updated_at", "plan_at")
DELIVERY_ROW = ("subscriber_id", "message_key", "slot", "due_at", "status", "next_attempt_at",
                "closed_at")


@dataclass(frozen=True, slots=True)
class Compiled:
    """A plan as the column values it writes (epoch seconds), shared by women alike."""
    close: tuple[str, ...]                  # status for her latest delivery (none or one)
    open: tuple[tuple, ...]                 # (message_key, due_at, status, next_at, closed_at)
    plan_at: float | None
    status: str | None                      # her new status (completed) or None


def compile_plan(plan: Plan, now: datetime) -> Compiled:
    at = epoch(now)
    return Compiled(
        tuple(c.status.value for c in plan.close),
        tuple((o.message_key, epoch(o.due_at), o.status.value, epoch(o.next_attempt_at),
               None if o.status is DeliveryStatus.PENDING else at) for o in plan.open),
        epoch(plan.plan_at), plan.status.value if plan.status is not None else None)


class WomanPlan(NamedTuple):          # a tuple: hundreds of thousands are made per run
    subscriber_id: int
    slot: str
    latest_id: int | None                   # the delivery a close applies to (her latest)
    plan: Compiled


class Planner:
    """plan_deliveries() at one instant, computed once per distinct case."""

    def __init__(self, programme: Programme, now: datetime):
        self.programme = programme
        self.now = now
        self._memo: dict[tuple, Compiled] = {}
        self._new: dict[tuple, Compiled] = {}

    def plan(self, sub: Subscriber, latest: Delivery | None) -> WomanPlan:
        plan = plan_deliveries(self.programme, sub, latest, self.now)
        latest_id = None if latest is None else latest.id
        assert all(c.delivery_id == latest_id for c in plan.close)   # only her latest closes
        return WomanPlan(sub.id, sub.slot, latest_id, compile_plan(plan, self.now))

    def plan_new(self, sub: Subscriber) -> WomanPlan:
        """The plan of a woman being enrolled (no delivery yet), computed once per case:
        it reads only her slot, zone, status and dates (enrolment's millions share a few
        thousand cases)."""
        case = (sub.slot, sub.timezone, sub.status, sub.lmp, sub.edd, sub.child_dob)
        compiled = self._new.get(case)
        if compiled is None:
            compiled = self._new[case] = self.plan(sub, None).plan
        return WomanPlan(sub.id, sub.slot, None, compiled)

    def plan_row(self, row) -> WomanPlan:
        """Her plan from a PLAN_SELECT row. The plan depends only on the row's fields after
        her id, and on the ids only through the close of her latest delivery."""
        sub_id, slot, tz, status, lmp, edd, dob, d_id, key, d_status = row
        case = (slot, tz, status, lmp, edd, dob, key, d_status)
        compiled = self._memo.get(case)
        if compiled is None:
            sub = Subscriber(id=sub_id, language="", slot=slot, timezone=tz, lmp=day(lmp),
                             edd=day(edd), child_dob=day(dob), status=SubscriberStatus(status))
            latest = None if d_id is None else Delivery(      # the plan reads no due_at
                id=d_id, subscriber_id=sub_id, message_key=key, due_at=self.now,
                status=DeliveryStatus(d_status))
            compiled = self._memo[case] = self.plan(sub, latest).plan
        return WomanPlan(sub_id, slot, d_id, compiled)


async def apply_plans(store: Store, plans: list[WomanPlan], now: datetime) -> None:
    """Write the plans: closes, opens, then each woman's next planning time and status.
    Updates that set the same values go as one statement over a list of ids (a third
    faster than executemany for a day's plan of hundreds of thousands); the new deliveries
    and the planning times go by Store.insert_ignoring and Store.set_each (on PostgreSQL
    10,000 rows per statement)."""
    at = epoch(now)
    closes: dict[str, list[int]] = {}
    done: dict[str, list[int]] = {}
    for p in plans:
        for status in p.plan.close:
            assert p.latest_id is not None          # a plan closes only her latest delivery
            closes.setdefault(status, []).append(p.latest_id)
        if p.plan.status:
            done.setdefault(p.plan.status, []).append(p.subscriber_id)
    for status, ids in closes.items():
        await _by_ids(store, "UPDATE deliveries SET status = ?, closed_at = ?, "
                      "next_attempt_at = NULL WHERE id IN {ids}", (status, at), ids)
    opens = _opens(plans)
    if opens:
        await store.insert_ignoring("deliveries", DELIVERY_ROW, opens,
                                    "subscriber_id, message_key")
    await store.set_each("subscribers", "plan_at",
                         [(p.subscriber_id, p.plan.plan_at) for p in plans])
    for status, ids in done.items():         # her programme is complete
        await _by_ids(store, "UPDATE subscribers SET status = ?, updated_at = ? "
                      "WHERE id IN {ids}", (status, at), ids)


def _opens(plans: list[WomanPlan]) -> list[tuple]:
    """The deliveries the plans open, as DELIVERY_ROW values."""
    return [(p.subscriber_id, key, p.slot, due, status, nxt, closed)
            for p in plans for key, due, status, nxt, closed in p.plan.open]


async def _by_ids(store: Store, sql: str, params: tuple, ids: list[int]) -> None:
    """One statement per 10,000 ids (Store.ids_in: no limit on bound variables)."""
    for i in range(0, len(ids), 10_000):
        fragment, param = store.ids_in(ids[i:i + 10_000])
        await store.execute(sql.format(ids=fragment), (*params, param))


async def insert_women(store: Store, programme: Programme, rows: list, subs: list[Subscriber],
                       now: datetime, actor: str) -> list[Subscriber]:
    """Insert checked women (ids given in order after the largest), audit each, and plan
    her first message. `rows` are the Enrolments the checked `subs` came from."""
    base = (await store.fetchall("SELECT COALESCE(MAX(id), 0) FROM subscribers"))[0][0]
    planner = Planner(programme, now)
    at = epoch(now)
    when = instant(at)
    out, plans, values, audits = [], [], [], []
    for i, (e, sub) in enumerate(zip(rows, subs, strict=True), start=base + 1):
        plan = planner.plan_new(sub)._replace(subscriber_id=i)
        status = SubscriberStatus(plan.plan.status) if plan.plan.status else sub.status
        out.append(replace(sub, id=i, status=status, status_reason=None,
                           enrolled_at=when, updated_at=when,
                           plan_at=instant(plan.plan.plan_at)))
        plans.append(plan)
        values.append((i, sub.phone, e.name, sub.language, sub.slot, sub.timezone,
                       programme.name, sub.track.value, _iso(sub.lmp), _iso(sub.edd),
                       _iso(sub.child_dob), e.partner, e.health_worker, _iso(e.consent_date),
                       status.value, at, at, plan.plan.plan_at))
        audits.append((at, actor, i, "enrol", json.dumps(
            {"language": sub.language, "slot": sub.slot, "track": sub.track.value,
             "partner": e.partner}, ensure_ascii=False, sort_keys=True)))
    # new women: no delivery to close, no key taken yet; plan_at and status go in their rows
    await store.insert_rows("subscribers", SUBSCRIBER_ROW, values)
    await store.insert_rows("audit", ("at", "actor", "subscriber_id", "action", "detail"),
                            audits)
    await store.insert_rows("deliveries", DELIVERY_ROW, _opens(plans))
    return out


async def live_phones(store: Store, phones: list[str]) -> dict[str, int]:
    """phone -> id of the active or paused woman on it, for those of `phones` in use."""
    found: dict[str, int] = {}
    # without INDEXED BY, SQLite prefers subscribers_status_slot for a long IN list and
    # reads every active woman: 500 phones = one full scan
    hint = " INDEXED BY subscribers_live_phone" if store.dialect == "sqlite" else ""
    for condition, params in any_of(store, "phone", phones):
        rows = await store.fetchall(f"SELECT phone, id FROM subscribers{hint} WHERE "
                                    f"{condition} AND status IN ('active', 'paused')", params)
        found.update((r[0], r[1]) for r in rows)
    return found
