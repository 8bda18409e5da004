"""The store's figures the metrics need (ivr/metrics.py): the due backlog, pending callbacks,
and when a callback was asked for."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.adapters.deliveries import NO_LIVE_CALL
from ivr.adapters.store import Store


@dataclass(frozen=True)
class Backlog:
    due_deliveries: int      # messages due now, her number free (no live call of hers)
    due_callbacks: int       # callbacks due now, likewise
    callbacks_pending: int   # every callback request not served, expired or cancelled yet


async def backlog(store: Store, now: float) -> Backlog:
    """What waits to be claimed now (what the claim would take if every trunk had room)."""
    free = NO_LIVE_CALL
    deliveries = (await store.fetchall(
        "SELECT COUNT(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
        "WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND s.status = 'active' AND "
        + free.format("d"), (now,)))[0][0]
    callbacks = (await store.fetchall(
        "SELECT COUNT(*) FROM callback_requests c WHERE c.status = 'pending' "
        "AND c.next_attempt_at <= ? AND " + free.format("c"), (now,)))[0][0]
    pending = (await store.fetchall(
        "SELECT COUNT(*) FROM callback_requests WHERE status = 'pending'"))[0][0]
    return Backlog(deliveries, callbacks, pending)


async def callback_requested_at(store: Store, callback_id: int) -> float | None:
    """When her (first) missed call of this callback request came in (epoch seconds)."""
    rows = await store.fetchall(
        "SELECT requested_at FROM callback_requests WHERE id = ?", (callback_id,))
    return rows[0][0] if rows else None
