"""Small builders shared by the scheduler tests (imported as a sibling module)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from scheduler.model import Subscriber


def utc(y, mo, d, h=0, mi=0, s=0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)


def local(tz: str, y, mo, d, h=0, mi=0) -> datetime:
    """An aware UTC instant from a local wall-clock time (first occurrence if ambiguous)."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def woman(**kw) -> Subscriber:
    fields = dict(id=1, language="hi", slot="09-12", timezone="Asia/Kolkata",
                  lmp=date(2026, 1, 1))
    fields.update(kw)
    return Subscriber(**fields)


def local_time(t: datetime, tz: str) -> time:
    return t.astimezone(ZoneInfo(tz)).time()
