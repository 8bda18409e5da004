"""Deliveries (one message owed to one woman) in the store, as scheduler.model.Delivery."""
from __future__ import annotations

from ivr.adapters.columns import instant
from scheduler.model import Delivery, DeliveryStatus


_DELIVERY_COLUMNS = ("id, subscriber_id, message_key, due_at, status, attempts, next_attempt_at, "
                     "closed_at, heard_share, acquired_by, acquired_until")
# her number is free: no live call of hers (`{}`: the alias of a table with subscriber_id).
# Test calls (`ivr call test`) are not hers, as in the unique index attempts_one_live (006),
# which this condition's words let both stores use (018).
NO_LIVE_CALL = ("NOT EXISTS (SELECT 1 FROM attempts a WHERE a.subscriber_id = {}.subscriber_id "
                "AND a.outcome IS NULL AND a.kind != 'test')")


def _delivery(row) -> Delivery:
    return Delivery(
        id=row["id"], subscriber_id=row["subscriber_id"], message_key=row["message_key"],
        due_at=instant(row["due_at"]), status=DeliveryStatus(row["status"]),
        attempts=row["attempts"], next_attempt_at=instant(row["next_attempt_at"]),
        closed_at=instant(row["closed_at"]), heard_share=row["heard_share"],
        acquired_by=row["acquired_by"], acquired_until=instant(row["acquired_until"]))
