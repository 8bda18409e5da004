"""The check-ins that ended unanswered, read for the absence sweep (ivr/absence.py): one
set-based query, a page at a time. What makes a silent week of one is
scheduler/check_in.py's silent_week."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from ivr.adapters.columns import epoch, instant
from ivr.adapters.store import Store
from scheduler.model import DeliveryStatus

PAGE = 500          # deliveries read per query


@dataclass(frozen=True, slots=True)
class UnansweredCheckIn:
    delivery_id: int
    subscriber_id: int
    message_key: str
    status: DeliveryStatus
    attempts: int
    due_at: datetime
    closed_at: datetime
    last_attempt_id: int | None     # the last call of it (the skipped answers name it)


async def unanswered_check_ins(store: Store, keys: Collection[str], after: datetime,
                               until: datetime, *, from_id: int = 0,
                               limit: int = PAGE) -> list[UnansweredCheckIn]:
    """Deliveries of the messages `keys` (those with questions) of active women, closed
    undelivered or superseded from `after` to `until` (at `after` itself only ids above
    from_id: the next page starts after the last row read), after at least one call, none
    of whose calls she answered nor wrote a current answer of hers (a week the sweep wrote
    names the delivery's last call: it is not read again); in (closed_at, id) order, at most
    `limit`."""
    if not keys:
        return []
    marks = ", ".join("?" * len(keys))
    # CROSS JOIN: SQLite walks deliveries_closed in order (not every active woman); the
    # range on closed_at first, then the page's cursor; answers_current read by her id
    rows = await store.fetchall(
        "SELECT d.id, d.subscriber_id, d.message_key, d.status, d.attempts, d.due_at, "
        "d.closed_at, "
        "(SELECT MAX(t.id) FROM attempts t WHERE t.delivery_id = d.id) AS last_attempt "
        "FROM deliveries d CROSS JOIN subscribers s ON s.id = d.subscriber_id "
        "WHERE d.status IN ('undelivered', 'superseded') "
        "AND d.closed_at >= ? AND d.closed_at <= ? AND (d.closed_at > ? OR d.id > ?) "
        f"AND d.attempts > 0 AND d.message_key IN ({marks}) AND s.status = 'active' "
        "AND NOT EXISTS (SELECT 1 FROM attempts t WHERE t.delivery_id = d.id "
        "AND (t.answered_at IS NOT NULL OR t.outcome = 'answered')) "
        "AND NOT EXISTS (SELECT 1 FROM answers a CROSS JOIN attempts t ON t.id = a.attempt_id "
        "WHERE a.subscriber_id = d.subscriber_id AND a.superseded_at IS NULL "
        "AND t.delivery_id = d.id) "
        "ORDER BY d.closed_at, d.id LIMIT ?",
        (epoch(after), epoch(until), epoch(after), from_id, *sorted(keys), limit))
    return [UnansweredCheckIn(r[0], r[1], r[2], DeliveryStatus(r[3]), r[4], instant(r[5]),
                              instant(r[6]), r[7]) for r in rows]
