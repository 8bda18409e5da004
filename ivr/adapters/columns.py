"""Conversions between the store's columns and the scheduler's values. Pure. NULL stays None
(the overloads tell mypy that a value never comes back as None)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import overload


@overload
def epoch(t: datetime) -> float: ...
@overload
def epoch(t: datetime | None) -> float | None: ...
def epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


@overload
def instant(x: float) -> datetime: ...
@overload
def instant(x: float | None) -> datetime | None: ...
def instant(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, timezone.utc)


@overload
def day(text: str) -> date: ...
@overload
def day(text: str | None) -> date | None: ...
def day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
