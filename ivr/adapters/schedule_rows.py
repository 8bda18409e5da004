"""The scheduling store's rows on SQLite: attempts and callback requests read as
scheduler.model values, and a rule's Changes (scheduler/rules.py) written. The decisions are
the pure rules'; this module only writes what they decided, inside the caller's transaction.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ivr.adapters.columns import epoch, instant
from ivr.adapters.deliveries import _DELIVERY_COLUMNS, _delivery
from ivr.adapters.schedule_bulk import A_MESSAGE, Planner, apply_plans
from ivr.adapters.store import Store
from ivr.adapters.subscribers import _SUBSCRIBER_COLUMNS, _iso, _subscriber, audit
from scheduler.model import (Attempt, AttemptKind, CallbackRequest, CallbackStatus, Delivery,
                             SchedulerError, Subscriber)
from scheduler.outcome import Outcome
from scheduler.programme import Programme
from scheduler.rules import Changes
from scheduler.unanswered import Unanswered, from_calls

_ATTEMPT_COLUMNS = ("id, subscriber_id, kind, message_key, number, created_at, delivery_id, "
                    "callback_id, acquired_by, acquired_until, ended_at, outcome, heard_share, "
                    "answered_at, phone, language")
_CALLBACK_COLUMNS = ("id, subscriber_id, requested_at, status, attempts, next_attempt_at, "
                     "served_at, attempt_id")


def _instant(value: float) -> datetime:
    """A NOT NULL time column as an instant."""
    at = instant(value)
    assert at is not None
    return at


def _attempt(row: Any) -> Attempt:
    return Attempt(
        id=row["id"], subscriber_id=row["subscriber_id"], kind=AttemptKind(row["kind"]),
        message_key=row["message_key"], number=row["number"],
        claimed_at=_instant(row["created_at"]), delivery_id=row["delivery_id"],
        callback_id=row["callback_id"], acquired_by=row["acquired_by"],
        acquired_until=instant(row["acquired_until"]), ended_at=instant(row["ended_at"]),
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        heard_share=row["heard_share"], answered_at=instant(row["answered_at"]),
        phone=row["phone"] or "", language=row["language"] or "")


def _callback(row: Any) -> CallbackRequest:
    return CallbackRequest(
        id=row["id"], subscriber_id=row["subscriber_id"],
        requested_at=_instant(row["requested_at"]),
        status=CallbackStatus(row["status"]), attempts=row["attempts"],
        next_attempt_at=instant(row["next_attempt_at"]), served_at=instant(row["served_at"]),
        attempt_id=row["attempt_id"])


async def her_record(store: Store, sub_id: int) -> Subscriber:
    rows = await store.fetchall(
        f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = ?{store.for_update}",
        (sub_id,))
    if not rows:
        raise SchedulerError(f"no woman with id {sub_id}")
    return _subscriber(rows[0])


async def her_deliveries(store: Store, sub_id: int) -> list[Delivery]:
    rows = await store.fetchall(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscriber_id = ? ORDER BY id",
        (sub_id,))
    return [_delivery(r) for r in rows]


async def live_attempt(store: Store, attempt_id: int) -> Attempt | None:
    rows = await store.fetchall(
        f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE id = ?{store.for_update}",
        (attempt_id,))
    return _attempt(rows[0]) if rows and rows[0]["outcome"] is None else None


async def her_unanswered(store: Store, sub: Subscriber) -> Unanswered:
    """Her finished calls (not test calls), folded for the weeks-unanswered rule."""
    rows = await store.fetchall(
        "SELECT COALESCE(ended_at, created_at) AS at, outcome = 'answered' AS answered "
        "FROM attempts WHERE subscriber_id = ? AND outcome IS NOT NULL AND kind != 'test' "
        "ORDER BY at, id", (sub.id,))
    return from_calls(sub.enrolled_at, ((_instant(r["at"]), bool(r["answered"])) for r in rows))


async def callback_request(store: Store, cb_id: int) -> CallbackRequest:
    return _callback((await store.fetchall(
        f"SELECT {_CALLBACK_COLUMNS} FROM callback_requests WHERE id = ?", (cb_id,)))[0])


async def save_subscriber(store: Store, sub: Subscriber, now: datetime) -> None:
    """Her record's fields a change may touch (not her phone or her extra fields)."""
    await store.execute(
        "UPDATE subscribers SET slot = ?, track = ?, lmp = ?, edd = ?, child_dob = ?, "
        "status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
        (sub.slot, sub.track.value, _iso(sub.lmp), _iso(sub.edd), _iso(sub.child_dob),
         sub.status.value, sub.status_reason, epoch(sub.updated_at or now), sub.id))


async def plan_her(store: Store, programme: Programme, sub: Subscriber, now: datetime) -> None:
    """plan_deliveries() for her at once, from her latest delivery of a message."""
    latest = await store.fetchall(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscriber_id = ? AND {A_MESSAGE} "
        "ORDER BY id DESC LIMIT 1", (sub.id,))
    plan = Planner(programme, now).plan(sub, _delivery(latest[0]) if latest else None)
    await apply_plans(store, [plan], now)


async def apply(store: Store, programme: Programme, sub: Subscriber | None, c: Changes,
                now: datetime) -> Attempt | None:
    """Write a rule's changes for her (`sub`: her record as the rule saw it); returns the
    attempt claimed, with its id, if any."""
    if c.subscriber is not None:
        sub = c.subscriber
        await save_subscriber(store, sub, now)
    slot = c.subscriber.slot if c.subscriber is not None else None
    for u in c.deliveries:
        await store.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, closed_at = ?, "
            "heard_share = ?, acquired_by = ?, acquired_until = ?, slot = COALESCE(?, slot) "
            "WHERE id = ?",
            (u.status.value, u.attempts, epoch(u.next_attempt_at), epoch(u.closed_at),
             u.heard_share, u.acquired_by, epoch(u.acquired_until), slot, u.id))
    a = c.claimed
    if a is not None:
        rows = await store.fetchall(
            "INSERT INTO attempts (delivery_id, callback_id, subscriber_id, number, kind, phone, "
            "language, message_key, created_at, acquired_by, acquired_until) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (a.delivery_id, a.callback_id, a.subscriber_id, a.number, a.kind.value, a.phone,
             a.language, a.message_key, epoch(a.claimed_at), a.acquired_by,
             epoch(a.acquired_until)))
        a.id = int(rows[0][0])
    if c.ended is not None:
        await store.execute(
            "UPDATE attempts SET outcome = ?, heard_share = ?, ended_at = ?, acquired_by = NULL, "
            "acquired_until = NULL WHERE id = ?",
            (c.ended.outcome.value, c.ended.heard_share, epoch(c.ended.ended_at), c.ended.id))
    cb = c.callback
    if cb is not None:
        await store.execute(
            "UPDATE callback_requests SET status = ?, attempts = ?, next_attempt_at = ?, "
            "served_at = ?, attempt_id = ? WHERE id = ?",
            (cb.status.value, cb.attempts, epoch(cb.next_attempt_at), epoch(cb.served_at),
             a.id if a is not None else cb.attempt_id, cb.id))
    if c.unclaimed is not None:                      # after the request no longer links it
        await store.execute("DELETE FROM attempts WHERE id = ?", (c.unclaimed,))
    if sub is not None:
        if c.cancel_callbacks:
            await store.execute(
                "UPDATE callback_requests SET status = 'cancelled', next_attempt_at = NULL "
                "WHERE subscriber_id = ? AND status = 'pending'", (sub.id,))
        for row in c.audit:
            await audit(store, actor="ivr", action=row.action, at=now, subscriber_id=sub.id,
                        detail=dict(row.detail))
        if c.plan:
            await plan_her(store, programme, sub, now)
    return a
