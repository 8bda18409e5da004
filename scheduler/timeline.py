"""Where a woman is in her programme on a given day, and when a message falls due. Pure.

Pregnancy is counted from the LMP (EDD - 280 days when only the EDD is known), infancy from
the child's date of birth. A message of track T with day d falls due at local midnight
beginning anchor + d in her zone; its first attempt is the first opening of her slot from then.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.content import Message, Track
from scheduler.model import SchedulerError, Subscriber
from scheduler.programme import Programme
from scheduler.slots import TimeSlot, day_start, next_opening, zone

PREGNANCY_DAYS = 280


@dataclass(frozen=True)
class Position:
    track: Track
    anchor: date                # day 0 of the track
    switch_on: date | None      # the day she moves to the infant track by herself (assumed birth)


def pregnancy_dates(lmp: date | None, edd: date | None) -> tuple[date, date]:
    """(LMP, EDD), the missing one derived from the other."""
    if lmp is None and edd is None:
        raise SchedulerError("a pregnancy needs an LMP or an EDD")
    if lmp is None:
        assert edd is not None
        return edd - timedelta(days=PREGNANCY_DAYS), edd
    if edd is None:
        return lmp, lmp + timedelta(days=PREGNANCY_DAYS)
    return lmp, edd


def position(programme: Programme, sub: Subscriber, today: date) -> Position:
    """Her track and its anchor on `today` (her local date)."""
    if sub.child_dob is not None:
        return Position(Track.INFANT, sub.child_dob, None)
    lmp, edd = pregnancy_dates(sub.lmp, sub.edd)
    if programme.assume_birth_after_days is None:
        return Position(Track.PREGNANCY, lmp, None)
    switch = edd + timedelta(days=programme.assume_birth_after_days)
    if today >= switch:
        return Position(Track.INFANT, edd, None)
    return Position(Track.PREGNANCY, lmp, switch)


def current_message(programme: Programme, pos: Position, today: date) -> Message | None:
    """The latest message of her track already due on `today`, or None (none due yet)."""
    i = bisect_right(programme.track_days(pos.track), (today - pos.anchor).days)
    return programme.track(pos.track)[i - 1] if i else None


def upcoming_message(programme: Programme, pos: Position, today: date) -> Message | None:
    """The first message of her track due after `today`, or None (the track is over)."""
    msgs = programme.track(pos.track)
    i = bisect_right(programme.track_days(pos.track), (today - pos.anchor).days)
    return msgs[i] if i < len(msgs) else None


def following(programme: Programme, message: Message) -> Message | None:
    """The next message on the same track."""
    msgs = programme.track(message.track)
    return msgs[message.number] if message.number < len(msgs) else None


def due_at(message: Message, pos: Position, tz: ZoneInfo) -> datetime:
    return day_start(pos.anchor + timedelta(days=message.day), tz)


def her_zone(sub: Subscriber) -> ZoneInfo:
    try:
        return zone(sub.timezone)
    except ValueError as e:
        raise SchedulerError(f"subscriber {sub.id}: {e}") from None


def her_slot(programme: Programme, sub: Subscriber) -> TimeSlot:
    try:
        return programme.slot(sub.slot)
    except KeyError as e:
        raise SchedulerError(f"subscriber {sub.id}: {e.args[0]}") from None


def first_attempt_at(programme: Programme, sub: Subscriber, due: datetime,
                     now: datetime) -> datetime:
    """The first instant in her slot at or after both the due time and now."""
    return next_opening(max(due, now), her_slot(programme, sub), her_zone(sub))
