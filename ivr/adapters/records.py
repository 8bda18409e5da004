"""Subscribers and deliveries in the store, as the scheduler's dataclasses (scheduler.model).

Times are stored as epoch seconds (UTC) and come back as aware UTC datetimes; calendar dates
as ISO text. Every change to a woman's record writes an audit row (who, when, what).
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from ivr.adapters.store import Store
from scheduler.content import Track
from scheduler.model import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from scheduler.retry import AfterAttempt


def epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def instant(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, timezone.utc)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


_SUBSCRIBER_COLUMNS = ("id, phone, language, slot, timezone, track, lmp, edd, child_dob, status, "
                       "status_reason, enrolled_at, updated_at, plan_at")


def _subscriber(row) -> Subscriber:
    return Subscriber(
        id=row["id"], phone=row["phone"], language=row["language"], slot=row["slot"],
        timezone=row["timezone"], track=Track(row["track"]), lmp=_day(row["lmp"]),
        edd=_day(row["edd"]), child_dob=_day(row["child_dob"]),
        status=SubscriberStatus(row["status"]), status_reason=row["status_reason"],
        enrolled_at=instant(row["enrolled_at"]), updated_at=instant(row["updated_at"]),
        plan_at=instant(row["plan_at"]))


async def audit(store: Store, *, actor: str, action: str, at: datetime,
                subscriber_id: int | None = None, detail: dict | None = None) -> None:
    await store.execute(
        "INSERT INTO audit (at, actor, subscriber_id, action, detail) VALUES (?, ?, ?, ?, ?)",
        (epoch(at), actor, subscriber_id, action,
         json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None))


async def find_live_subscriber(store: Store, phone: str) -> Subscriber | None:
    """The active or paused woman on this number (at most one: a unique index says so)."""
    rows = await store.fetchall(
        f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers "
        "WHERE phone = ? AND status IN ('active', 'paused')", (phone,))
    return _subscriber(rows[0]) if rows else None


async def get_subscriber(store: Store, subscriber_id: int) -> Subscriber | None:
    rows = await store.fetchall(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = ?",
                                (subscriber_id,))
    return _subscriber(rows[0]) if rows else None


async def enrol(store: Store, sub: Subscriber, *, programme: str, at: datetime, actor: str,
                name: str | None = None, partner: str | None = None) -> tuple[Subscriber, bool]:
    """Insert her (sub.id is ignored) unless her number is already live: then that record
    comes back with created=False, and nothing changes."""
    existing = await find_live_subscriber(store, sub.phone)
    if existing is not None:
        return existing, False
    cur = await store.execute(
        "INSERT INTO subscribers (phone, name, language, slot, timezone, programme, track, lmp, "
        "edd, child_dob, partner, status, enrolled_at, updated_at, plan_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (sub.phone, name, sub.language, sub.slot, sub.timezone, programme, sub.track.value,
         sub.lmp and sub.lmp.isoformat(), sub.edd and sub.edd.isoformat(),
         sub.child_dob and sub.child_dob.isoformat(), partner, sub.status.value, epoch(at),
         epoch(at), epoch(at)))
    await audit(store, actor=actor, action="enrol", at=at, subscriber_id=cur.lastrowid,
                detail={"language": sub.language, "slot": sub.slot, "programme": programme})
    created = await get_subscriber(store, cur.lastrowid)
    assert created is not None
    return created, True


_DELIVERY_COLUMNS = ("id, subscriber_id, message_key, due_at, status, attempts, next_attempt_at, "
                     "closed_at, heard_share, acquired_by, acquired_until")


def _delivery(row) -> Delivery:
    return Delivery(
        id=row["id"], subscriber_id=row["subscriber_id"], message_key=row["message_key"],
        due_at=instant(row["due_at"]), status=DeliveryStatus(row["status"]),
        attempts=row["attempts"], next_attempt_at=instant(row["next_attempt_at"]),
        closed_at=instant(row["closed_at"]), heard_share=row["heard_share"],
        acquired_by=row["acquired_by"], acquired_until=instant(row["acquired_until"]))


async def open_delivery(store: Store, sub: Subscriber, message_key: str, due_at: datetime,
                        next_attempt_at: datetime) -> Delivery:
    """The delivery of this message to her, created pending if it is not there yet."""
    await store.execute(
        "INSERT INTO deliveries (subscriber_id, message_key, slot, due_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscriber_id, message_key) DO NOTHING",
        (sub.id, message_key, sub.slot, epoch(due_at), epoch(next_attempt_at)))
    rows = await store.fetchall(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscriber_id = ? AND message_key = ?",
        (sub.id, message_key))
    return _delivery(rows[0])


async def count_attempt(store: Store, delivery_id: int) -> int:
    """One more attempt of this delivery is about to be placed; returns its number."""
    rows = await store.fetchall(
        "UPDATE deliveries SET attempts = attempts + 1 WHERE id = ? RETURNING attempts",
        (delivery_id,))
    return rows[0][0]


async def get_delivery(store: Store, delivery_id: int) -> Delivery | None:
    rows = await store.fetchall(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE id = ?",
                                (delivery_id,))
    return _delivery(rows[0]) if rows else None


async def close_or_retry(store: Store, delivery_id: int, after: AfterAttempt) -> None:
    """Write the scheduler's decision after an attempt (only a pending delivery changes)."""
    await store.execute(
        "UPDATE deliveries SET status = ?, next_attempt_at = ?, heard_share = ?, closed_at = ?, "
        "acquired_by = NULL, acquired_until = NULL WHERE id = ? AND status = 'pending'",
        (after.status.value, epoch(after.next_attempt_at), after.heard_share,
         epoch(after.closed_at), delivery_id))
