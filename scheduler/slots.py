"""Time slots and the calling window: local wall-clock hours in a woman's time zone. Pure.

A slot is a half-open range of local wall-clock time [start, end) on every day. An instant t
is inside the slot when slot.start <= local(t).time() < slot.end, local(t) being t seen in the
woman's zone (zoneinfo: correct on both sides of a DST change). Openings are computed on
local dates, so a slot opening at 09:00 opens at 09:00 local time in summer and in winter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_RANGE = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")


@dataclass(frozen=True)
class TimeSlot:
    name: str
    start: time
    end: time

    def contains(self, local: time) -> bool:
        return self.start <= local < self.end

    @property
    def text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_range(name: str, text: str) -> TimeSlot:
    """'09:00-12:00' -> TimeSlot(name, 09:00, 12:00). ValueError with a clear message."""
    m = _RANGE.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{name}: expected a range of local times like \"09:00-12:00\", "
                         f"got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h2 == 24 and m2 == 0:
        h2, m2 = 23, 59
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{name}: {text!r} is not a valid time range")
    start, end = time(h1, m1), time(h2, m2)
    if not start < end:
        raise ValueError(f"{name}: {text!r} must start before it ends "
                         "(slots do not cross midnight)")
    return TimeSlot(name, start, end)


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ValueError names the bad zone."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as e:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like Asia/Kolkata)") from e


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall-clock `at` on `day`. A wall time skipped by a DST jump
    maps to the first instant after the gap; an ambiguous one to its first occurrence,
    whatever `at.fold` says (the fold of a wall time is this function's to decide; and
    time(2, 27, fold=1) == time(2, 27): one cache entry must not answer for both)."""
    return _local_instant(day, at.replace(fold=0), tz)


@lru_cache(maxsize=8192)
def _local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Memoized: a pure function of few distinct values (days x slot edges x zones), asked
    hundreds of thousands of times by a simulated year."""
    local = datetime.combine(day, at, tzinfo=tz)
    offset = local.utcoffset()
    if offset is not None and offset == local.replace(fold=1).utcoffset():   # no DST change near
        return datetime.combine(day, at, tzinfo=timezone.utc) - offset
    naive = datetime.combine(day, at)
    first = local.astimezone(timezone.utc)
    if first.astimezone(tz).replace(tzinfo=None) == naive:  # ambiguous: its first occurrence
        return first
    # Skipped by a DST jump: find the first instant whose wall time is >= naive (the jump).
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(timezone.utc)   # before the gap
    hi = max(lo, first)
    lo = min(lo, first)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    whole = hi.replace(microsecond=0)     # DST jumps happen on whole seconds
    return whole if whole.astimezone(tz).replace(tzinfo=None) >= naive else hi


def intersect(slot: TimeSlot, window: TimeSlot) -> TimeSlot | None:
    start, end = max(slot.start, window.start), min(slot.end, window.end)
    return TimeSlot(slot.name, start, end) if start < end else None


def inside(t: datetime, slot: TimeSlot, tz: ZoneInfo) -> bool:
    """Is instant t inside the slot in zone tz?"""
    return slot.contains(t.astimezone(tz).time())


def next_opening(t: datetime, slot: TimeSlot, tz: ZoneInfo) -> datetime:
    """The first instant >= t that lies inside the slot (t itself when it is inside)."""
    local = t.astimezone(tz)
    if slot.contains(local.time()):
        return t
    day = local.date()
    if local.time() >= slot.start:
        day += timedelta(days=1)
    for _ in range(3):                     # a DST gap can swallow a whole slot: try next day
        opening = local_instant(day, slot.start, tz)
        if opening >= t and inside(opening, slot, tz):
            return opening
        day += timedelta(days=1)
    raise ValueError(f"slot {slot.text} never opens in {tz.key} near {t.isoformat()}")


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant of local midnight beginning `day` (or the first instant of the day)."""
    return local_instant(day, time(0, 0), tz)


def local_date(t: datetime, tz: ZoneInfo) -> date:
    return t.astimezone(tz).date()
