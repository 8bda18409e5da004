"""Subscribers (the women) in the store, as scheduler.model.Subscriber, and the audit trail.

Every change to a woman's record writes an audit row (who, when, what).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Sequence

from ivr.adapters.columns import day as _day, epoch, instant
from ivr.adapters.store import Store
from ivr.phone import Phone
from scheduler.content import Track
from scheduler.model import Subscriber, SubscriberStatus


_SUBSCRIBER_COLUMNS = ("id, phone, language, slot, timezone, track, lmp, edd, child_dob, status, "
                       "status_reason, enrolled_at, updated_at, plan_at")


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


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


async def find_caller(store: Store, caller_id: str,
                      regions: Sequence[str]) -> tuple[str, Subscriber | None]:
    """A caller ID as a stored number, and the live woman on it: the number read in each
    region in turn (the programmes' of the installation, the default's first) until one is
    hers; else the first reading's digits ("" when it is no phone number) and None."""
    digits = ""
    for region in dict.fromkeys(regions):
        phone = Phone.from_caller_id(caller_id, region)
        if phone is None:
            continue
        woman = await find_live_subscriber(store, phone.digits)
        if woman is not None:
            return phone.digits, woman
        digits = digits or phone.digits
    return digits, None
