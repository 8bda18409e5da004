"""She pressed 9 then 1 during a call: stop the service for her, at once.

Until the scheduling store (ivr/adapters/schedule_store.py) offers its own opt_out, this is
the one place that writes an opt-out made by key press.  Everything happens in ONE
transaction, so no further call can be claimed for her once it commits, and nothing is
half-written if it fails:
- her subscriber row: status 'opted_out', status_reason 'by_user_ivr', updated_at, and no
  further planning (plan_at NULL);
- her pending deliveries: cancelled (closed_at set, no next attempt);
- her pending callback requests: cancelled;
- an audit row: actor "ivr", action "opt_out", detail {"channel", "attempt", "via"}.
A woman whose subscription has already ended (opted out before, deactivated, completed) is
left as she is: the result says so and no audit row is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ivr.adapters.columns import epoch
from ivr.adapters.store import Store
from ivr.adapters.subscribers import audit

STATUS_REASON = "by_user_ivr"
ACTOR = "ivr"
ACTION = "opt_out"

# A Local channel's name carries the dialled number ("Local/919000021@sim-phones-0000002a;1"):
# the audit trail keeps the channel but never a phone number in clear.
# Only a run that starts a word: the channel's own counter ("-0000002a") is not a number.
_LONG_DIGITS = re.compile(r"(?<![-\w])\d{5,}")


def masked_channel(channel: str) -> str:
    """The channel name with any number in it (5+ digits) masked but for its last 3."""
    return _LONG_DIGITS.sub(lambda m: "*" * (len(m.group()) - 3) + m.group()[-3:], channel)


@dataclass(frozen=True)
class OptOutResult:
    subscriber_id: int
    changed: bool                # False: no such woman, or her subscription had already ended
    previous_status: str | None  # None: no such woman
    deliveries_cancelled: int
    callbacks_cancelled: int


async def opt_out_by_key(store: Store, subscriber_id: int, *, at: datetime, channel: str,
                         attempt_id: int) -> OptOutResult:
    """Record her opt-out made by key press on the call `attempt_id` (AGI channel `channel`).
    Raises sqlite3.Error (after rolling back) when the database refuses."""
    now = epoch(at)
    async with store.transaction():
        rows = await store.fetchall("SELECT status FROM subscribers WHERE id = ?",
                                    (subscriber_id,))
        previous = rows[0]["status"] if rows else None
        if previous not in ("active", "paused"):
            return OptOutResult(subscriber_id, False, previous, 0, 0)
        await store.execute(
            "UPDATE subscribers SET status = 'opted_out', status_reason = ?, updated_at = ?, "
            "plan_at = NULL WHERE id = ?", (STATUS_REASON, now, subscriber_id))
        deliveries = await store.execute(
            "UPDATE deliveries SET status = 'cancelled', closed_at = ?, next_attempt_at = NULL "
            "WHERE subscriber_id = ? AND status = 'pending'", (now, subscriber_id))
        callbacks = await store.execute(
            "UPDATE callback_requests SET status = 'cancelled', next_attempt_at = NULL "
            "WHERE subscriber_id = ? AND status = 'pending'", (subscriber_id,))
        await audit(store, actor=ACTOR, action=ACTION, at=at, subscriber_id=subscriber_id,
                    detail={"via": "key", "channel": masked_channel(channel),
                            "attempt": attempt_id, "previous_status": previous})
    return OptOutResult(subscriber_id, True, previous, deliveries.rowcount, callbacks.rowcount)
