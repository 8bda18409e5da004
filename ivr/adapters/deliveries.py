"""Deliveries (one message owed to one woman) in the store, as scheduler.model.Delivery."""
from __future__ import annotations

from datetime import datetime

from ivr.adapters.columns import epoch, instant
from ivr.adapters.store import Store
from scheduler.model import Delivery, DeliveryStatus, Subscriber
from scheduler.retry import AfterAttempt


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
