"""Conversions between the store's columns and the scheduler's values. Pure."""
from __future__ import annotations

from datetime import date, datetime, timezone


def epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def instant(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, timezone.utc)


def day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
