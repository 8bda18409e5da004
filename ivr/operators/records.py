"""Reading women's records and calls for people: plain dicts ready to print or dump as JSON,
phone numbers and names (hers, her health worker's) masked unless `reveal`. The queries are
ivr/adapters/records.py's."""
from __future__ import annotations

import json
from datetime import date, time, timedelta
from typing import Sequence

from ivr.adapters import records
from ivr.adapters.answers import Answers
from ivr.adapters.columns import epoch, instant
from ivr.adapters.store import Store
from ivr.adapters.workers import Workers
from ivr.phone import mask, mask_name
from scheduler.slots import local_instant, zone


def phone_out(phone: str | None, reveal: bool) -> str:
    if not phone:
        return "-"
    return f"+{phone}" if reveal else mask(phone)


def name_out(name: str | None, reveal: bool) -> str | None:
    """A person's name as output shows it: her initials ('S. P.') unless `reveal`; None (no
    name) stays None."""
    if not name:
        return None
    return name if reveal else mask_name(name)


def when(x: float | None, tz: str = "Asia/Kolkata", iso: bool = False) -> str | None:
    """An epoch as local time 'YYYY-MM-DD HH:MM' in `tz` (the woman's or the programme's);
    with iso (JSON output), RFC 3339 with the zone's offset: '2026-11-30T18:00:00+05:30'."""
    if x is None:
        return None
    local = instant(x).astimezone(zone(tz))
    return local.isoformat(timespec="seconds") if iso else local.strftime("%Y-%m-%d %H:%M")


EPOCH_DAY = date(1970, 1, 1).toordinal()


class Whens:
    """`when(x, tz)` (not iso) for many instants: the same text, with the zone's offset
    looked up once per UTC day (when it is the same at both ends of the day; else `when`)
    and each local date written once."""

    def __init__(self) -> None:
        self._offsets: dict[tuple[str, float], float | None] = {}
        self._dates: dict[int, str] = {}

    def __call__(self, x: float | None, tz: str = "Asia/Kolkata") -> str | None:
        if x is None:
            return None
        key = (tz, x // 86400)
        if key not in self._offsets:
            self._offsets[key] = _day_offset(tz, key[1])
        offset = self._offsets[key]
        if offset is None:
            return when(x, tz)
        minute, second = divmod(x + offset, 60)
        if second < 1e-4 or second > 59.9999:    # the microsecond rounding could move it
            return when(x, tz)
        day, m = divmod(int(minute), 1440)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = date.fromordinal(EPOCH_DAY + day).isoformat()
        return f"{text} {m // 60:02d}:{m % 60:02d}"


def _day_offset(tz: str, day: float) -> float | None:
    """The zone's UTC offset (seconds) through the UTC day `day` (days since the epoch);
    None when it changes within the day."""
    z = zone(tz)
    first = instant(day * 86400).astimezone(z).utcoffset()
    last = instant(day * 86400 + 86399.999).astimezone(z).utcoffset()
    return first.total_seconds() if first is not None and first == last else None


def woman(row, reveal: bool, iso: bool = False) -> dict:
    out = {k: row[k] for k in row.keys()}
    out["phone"] = phone_out(row["phone"], reveal)
    for key in ("name", "health_worker"):           # people's names (a partner is a hospital)
        out[key] = name_out(row[key], reveal)
    out["enrolled_at"] = when(row["enrolled_at"], row["timezone"], iso)
    out["updated_at"] = when(row["updated_at"], row["timezone"], iso)
    return out


async def list_women(store: Store, *, status: str | None = None, partner: str | None = None,
                     language: str | None = None, slot: str | None = None,
                     phones: Sequence[str] = (), name: str | None = None, limit: int = 100,
                     reveal: bool = False, iso: bool = False) -> list[dict]:
    """phones: the number as read in each programme's region (any of them)."""
    rows = await records.women(store, status=status, partner=partner, language=language,
                               slot=slot, phones=phones, name=name, limit=limit)
    return [woman(r, reveal, iso) for r in rows]


async def show_woman(store: Store, sub_id: int, *, reveal: bool = False,
                     recent: int = 10, iso: bool = False) -> dict | None:
    row = await records.woman(store, sub_id)
    if row is None:
        return None
    out = woman(row, reveal, iso)
    tz = row["timezone"]
    out["deliveries"] = [
        {"message": r["message_key"], "status": r["status"], "attempts": r["attempts"],
         "due": when(r["due_at"], tz, iso), "next_attempt": when(r["next_attempt_at"], tz, iso),
         "heard_share": r["heard_share"]}
        for r in await records.recent_deliveries(store, sub_id, recent)]
    out["calls"] = await find_calls(store, woman_id=sub_id, limit=recent, reveal=reveal, tz=tz,
                                    iso=iso)
    out["callbacks"] = [
        {"requested": when(r["requested_at"], tz, iso), "status": r["status"],
         "served": when(r["served_at"], tz, iso)}
        for r in await records.recent_callbacks(store, sub_id, recent)]
    answers = Answers(store, Workers(store))
    out["answers"] = [
        {"week": a.week, "question": a.question, "status": a.status.value, "value": a.value,
         "at": when(epoch(a.answered_at), tz, iso)}
        for a in await answers.answers_of(sub_id)]
    out["follow_ups"] = [
        {"id": f.id, "rule": f.rule, "due_on": f.due_on.isoformat(), "role": f.owner_role.value,
         "worker": f.worker_id, "outcome": f.outcome.value if f.outcome else None,
         "closed": when(epoch(f.closed_at), tz, iso)}
        for f in await answers.follow_ups(open_only=False, subscriber_id=sub_id)]
    out["history"] = [
        {"at": when(r["at"], tz, iso), "actor": r["actor"], "action": r["action"],
         "detail": json.loads(r["detail"]) if r["detail"] else None}
        for r in await records.audit_trail(store, sub_id)]
    return out


def day_range(first: date | None, last: date | None, tz: str) -> tuple[float | None, float | None]:
    """[start of `first`, start of the day after `last`) in epoch seconds, local days of tz."""
    z = zone(tz)
    lo = local_instant(first, time(0), z).timestamp() if first else None
    hi = local_instant(last + timedelta(days=1), time(0), z).timestamp() if last else None
    return lo, hi


async def find_calls(store: Store, *, woman_id: int | None = None, first: date | None = None,
                     last: date | None = None, outcome: str | None = None,
                     message: str | None = None, kind: str | None = None,
                     phone: str | None = None, limit: int = 100, reveal: bool = False,
                     tz: str = "Asia/Kolkata", iso: bool = False,
                     zones: Sequence[tuple[str, str]] = ()) -> list[dict]:
    """Calls, newest first. Dates are local days in `tz`; zones (several programmes: each
    programme's name and zone, the default first): each call's days and time in her
    programme's zone (a call about nobody: the default programme's)."""
    found = []
    for i, (name, z) in enumerate(zones or [(None, tz)]):
        lo, hi = day_range(first, last, z)
        found += [(r, z) for r in await records.calls(
            store, woman_id=woman_id, lo=lo, hi=hi, outcome=outcome, message=message,
            kind=kind, phone=phone, limit=limit, programme=name, nobodys=i == 0)]
    found = sorted(found, key=lambda x: x[0]["id"], reverse=True)[:limit]
    out = []
    for r, z in found:
        out.append({
            "id": r["id"], "woman": r["subscriber_id"], "kind": r["kind"],
            "attempt": r["number"], "phone": phone_out(r["phone"], reveal),
            "language": r["language"], "message": r["message_key"],
            "at": when(r["created_at"], z, iso),
            "seconds": None if r["ended_at"] is None else round(r["ended_at"] - r["created_at"]),
            "outcome": r["outcome"] or "live", "cause": r["cause"],
            "heard": None if r["heard_share"] is None else round(r["heard_share"], 2),
            "plays": r["plays"], "keys": r["keys"] or "", "answers": r["answers"],
            "trunk": r["trunk"]})
    return out

