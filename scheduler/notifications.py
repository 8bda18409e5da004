"""Notification calls (issue 15, item 2): the doctor closes a follow-up with "ask her to come"
and a date; she gets an outbound call in her language, "please come to the health centre on
<date>". Pure.

A notification is a Delivery like her messages (claimed, retried by the programme's retry
policy, within her slot, recorded as attempts): nothing new in the dial loop. What marks it is
its message key, `notify:come:<ISO date>`: the key carries the date, so the call needs no
other read to say it, and every attempt row shows which notification it played. Planning
never sees it (her programme messages are planned from her latest *message* delivery,
`latest_message`), so it neither supersedes nor is superseded by her weekly message; the
one-live-call-per-woman rule of the claim keeps the two calls one after the other.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from scheduler.followups import FollowUpOutcome
from scheduler.model import Delivery, SchedulerError, Subscriber
from scheduler.programme import Programme
from scheduler.slots import day_start, local_date
from scheduler.timeline import first_attempt_at, her_zone

PREFIX = "notify:"
COME = PREFIX + "come:"


def is_notification(message_key: str) -> bool:
    return message_key.startswith(PREFIX)


def come_key(come_on: date) -> str:
    """'notify:come:2026-12-07': the message key of the call asking her to come that day."""
    return COME + come_on.isoformat()


def come_on_of(message_key: str) -> date | None:
    """The date a `come_key` names; None for any other key."""
    if not message_key.startswith(COME):
        return None
    try:
        return date.fromisoformat(message_key[len(COME):])
    except ValueError:
        return None


def latest_message(deliveries: Iterable[Delivery]) -> Delivery | None:
    """Her most recent delivery of a programme message (notifications left out): what
    plan_deliveries() reads. `deliveries` in id order."""
    latest = None
    for d in deliveries:
        if not is_notification(d.message_key):
            latest = d
    return latest


def check_come_on(outcome: FollowUpOutcome, come_on: date | None, today: date) -> date | None:
    """The date she is asked to come, for a close with `outcome` on `today` (the programme's
    local date): required with ask_to_come, today or later; refused with any other outcome."""
    if outcome is not FollowUpOutcome.ASK_TO_COME:
        if come_on is not None:
            raise SchedulerError(f"a date to come goes with the outcome ask_to_come, not "
                                 f"{outcome.value}")
        return None
    if come_on is None:
        raise SchedulerError("ask_to_come needs the date the health centre expects her "
                             "(--come-on YYYY-MM-DD)")
    if come_on < today:
        raise SchedulerError(f"the date to come {come_on.isoformat()} is in the past "
                             f"(today is {today.isoformat()})")
    return come_on


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification call owed or made: its delivery, the follow-up whose close asked for
    it, the day she is expected."""
    delivery_id: int
    follow_up_id: int
    subscriber_id: int
    come_on: date


def on_close(programme: Programme, sub: Subscriber, outcome: FollowUpOutcome,
             come_on: date | None, now: datetime) -> Delivery | None:
    """The notification delivery (id 0) a follow-up's close with `outcome` places for her,
    or None; SchedulerError when the date is missing, misplaced or past (her local today),
    or she can no longer be called. Checked before anything is written."""
    day = check_come_on(outcome, come_on, local_date(now, her_zone(sub)))
    return None if day is None else notification(programme, sub, day, now)


def notification(programme: Programme, sub: Subscriber, come_on: date,
                 now: datetime) -> Delivery:
    """The pending delivery (id 0) of her call asking her to come on `come_on`: due today in
    her zone, first tried at the next opening of her slot. SchedulerError when she can no
    longer be called (her subscription ended)."""
    if sub.status.ended:
        raise SchedulerError(f"woman {sub.id} gets no calls ({sub.status.value}): close the "
                             "follow-up with another outcome and reach her otherwise")
    tz = her_zone(sub)
    due = day_start(local_date(now, tz), tz)
    return Delivery(id=0, subscriber_id=sub.id, message_key=come_key(come_on), due_at=due,
                    next_attempt_at=first_attempt_at(programme, sub, due, now))
