"""The in-memory store's rows (scheduler/memory.py): what a restart needs, and the store
rebuilt from them. Pure; a companion of MemoryStore, which it fills through its fields."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scheduler import unanswered
from scheduler.engagement import from_attempts
from scheduler.model import (Attempt, CallbackRequest, CallbackStatus, Delivery, DeliveryStatus,
                             Subscriber)

if TYPE_CHECKING:
    from scheduler.memory import MemoryStore


@dataclass
class Rows:
    """Everything a restart needs, as the store's rows."""
    subscribers: list[Subscriber] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)


def load(store: "MemoryStore", rows: Rows) -> None:
    """Fill an empty store with `rows` (its own copy) and rebuild its indexes: the due
    queues, her live call, her engagement and unanswered weeks (what retry_slots learned is
    not rebuilt: it starts again from her next calls)."""
    for s in rows.subscribers:
        store.subscribers[s.id] = s
        store._by_sub[s.id] = []
        if s.plan_at is not None:
            store._queues.push("plan", s.plan_at, s.id)
    for d in sorted(rows.deliveries, key=lambda d: d.id):
        store.deliveries[d.id] = d
        store._by_sub[d.subscriber_id].append(d.id)
        if d.status is DeliveryStatus.PENDING and d.next_attempt_at is not None:
            store._queues.push("delivery", d.next_attempt_at, d.id)
    for a in rows.attempts:
        store.attempts[a.id] = a
        if a.live and a.acquired_until is not None:
            store._live[a.subscriber_id] = a.id
            store._queues.push("lease", a.acquired_until, a.id)
    for c in sorted(rows.callbacks, key=lambda c: c.id):
        store.callbacks[c.id] = c
        store._last_callback[c.subscriber_id] = c.id
        if c.status is CallbackStatus.PENDING and c.next_attempt_at is not None:
            store._queues.push("callback", c.next_attempt_at, c.id)
    for s in rows.subscribers:
        store.engagement[s.id] = from_attempts(
            (a for a in rows.attempts if a.subscriber_id == s.id), store.programme.at_risk)
        if store._weeks_rule:
            store.unanswered[s.id] = unanswered.from_calls(s.enrolled_at, unanswered.calls(
                a for a in rows.attempts if a.subscriber_id == s.id))
    for kind, items in (("subscriber", rows.subscribers), ("delivery", rows.deliveries),
                        ("attempt", rows.attempts), ("callback", rows.callbacks)):
        store._ids[kind] = max((x.id for x in items), default=0)
