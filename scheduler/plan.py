"""Which message a woman is owed now: open, supersede, cancel deliveries. Pure.

A woman has at most one pending delivery. plan_deliveries() looks at her and her latest
delivery at `now` and says what to change; the store applies the plan and runs it again at
plan.plan_at (when the next message falls due, or she moves to the infant track by herself),
whenever a delivery of hers closes, and after any change to her (birth, life event, pause...).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from scheduler.content import Message, Track
from scheduler.model import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from scheduler.programme import Programme
from scheduler.slots import day_start, local_date
from scheduler.timeline import (Position, current_message, due_at, first_attempt_at, following,
                                her_zone, position, upcoming_message)


@dataclass(frozen=True)
class Close:
    delivery_id: int
    status: DeliveryStatus          # SUPERSEDED or CANCELLED


@dataclass(frozen=True)
class Open:
    """A delivery to create. PENDING, or SUPERSEDED (born closed) for a message that fell due
    and was overtaken while nobody planned (the service was down): the count stays exact."""
    message_key: str
    due_at: datetime
    next_attempt_at: datetime | None
    status: DeliveryStatus = DeliveryStatus.PENDING


@dataclass(frozen=True)
class Plan:
    close: tuple[Close, ...] = ()
    open: tuple[Open, ...] = ()
    status: SubscriberStatus | None = None     # set her status (COMPLETED) when not None
    plan_at: datetime | None = None            # plan again then (None: only on an event)

    @property
    def empty(self) -> bool:
        return not self.close and not self.open and self.status is None


def plan_deliveries(programme: Programme, sub: Subscriber, latest: Delivery | None,
                    now: datetime) -> Plan:
    """What to change for her at `now`. `latest` is her most recent delivery (any status)."""
    if sub.status.ended:
        if latest is not None and latest.status is DeliveryStatus.PENDING:
            return Plan(close=(Close(latest.id, DeliveryStatus.CANCELLED),))
        return Plan()
    tz = her_zone(sub)
    today = local_date(now, tz)
    pos = position(programme, sub, today)
    supersede = programme.retry.supersede
    closes: list[Close] = []
    skipped: list[Message] = []
    last = programme.message(latest.message_key) if latest is not None else None

    if last is None or last.track is not pos.track:
        if latest is not None and latest.status is DeliveryStatus.PENDING:
            closes.append(Close(latest.id, DeliveryStatus.CANCELLED))   # the wrong track now
        start = current_message(programme, pos, today) or upcoming_message(programme, pos, today)
    elif latest is None:
        raise AssertionError("a last message without a latest delivery")
    elif latest.status is DeliveryStatus.PENDING:
        current = current_message(programme, pos, today)
        if not (supersede and current is not None and current.seq > last.seq):
            return Plan(plan_at=_wake(programme, pos, last, tz))
        closes.append(Close(latest.id, DeliveryStatus.SUPERSEDED))
        skipped = _between(programme, last, current)
        start = current
    else:
        start = following(programme, last)
        current = current_message(programme, pos, today)
        if supersede and start is not None and current is not None and current.seq > start.seq:
            skipped = [start] + _between(programme, start, current)
            start = current

    opens = [Open(m.key, due_at(m, pos, tz), None, DeliveryStatus.SUPERSEDED) for m in skipped]
    if start is None:
        return _track_over(programme, pos, tuple(closes), tuple(opens), tz)
    due = due_at(start, pos, tz)
    opens.append(Open(start.key, due, first_attempt_at(programme, sub, due, now)))
    return Plan(close=tuple(closes), open=tuple(opens), plan_at=_wake(programme, pos, start, tz))


def _between(programme: Programme, first: Message, last: Message) -> list[Message]:
    """Messages strictly between two of the same track."""
    return list(programme.track(first.track)[first.number:last.number - 1])


def _wake(programme: Programme, pos: Position, pending: Message,
          tz: ZoneInfo) -> datetime | None:
    """When the plan for a woman with `pending` owed can change by itself."""
    times = []
    nxt = following(programme, pending)
    if nxt is not None and programme.retry.supersede:
        times.append(due_at(nxt, pos, tz))
    if pos.switch_on is not None:
        times.append(day_start(pos.switch_on, tz))
    return min(times) if times else None


def _track_over(programme: Programme, pos: Position, closes: tuple[Close, ...],
                opens: tuple[Open, ...], tz: ZoneInfo) -> Plan:
    """Her track has nothing more: wait for the birth, or the programme is complete."""
    if pos.track is Track.PREGNANCY and programme.track(Track.INFANT):
        wake = day_start(pos.switch_on, tz) if pos.switch_on is not None else None
        return Plan(close=closes, open=opens, plan_at=wake)
    return Plan(close=closes, open=opens, status=SubscriberStatus.COMPLETED)
