"""After an attempt: delivered, another attempt (when), or undelivered. Pure.

Attempts of one message are spread by the programme's RetryPolicy: at most `per_day` a day,
all inside her slot, the next one `gap(outcome)` after the last ended (busy sooner than no
answer) when that is still inside her slot the same day, else at the next day's opening.
When the programme sends later attempts elsewhere (retry_slots, scheduler/retry_slots.py)
the caller passes the chosen slot: the next attempt is at the first instant of that slot at
least `gap` after the last ended, the same day while the day's cap allows, else at the next
day's opening of that slot.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.model import Delivery, DeliveryStatus, Subscriber
from scheduler.outcome import Outcome
from scheduler.policy import RetryPolicy
from scheduler.programme import Programme
from scheduler.slots import TimeSlot, day_start, inside, local_date, next_opening
from scheduler.timeline import her_slot, her_zone


@dataclass(frozen=True)
class AfterAttempt:
    status: DeliveryStatus          # PENDING (another attempt), DELIVERED or UNDELIVERED
    next_attempt_at: datetime | None
    heard_share: float              # the most she has heard of this message
    closed_at: datetime | None
    invalid_number: bool = False    # the number does not exist: deactivate her


def next_retry_at(policy: RetryPolicy, slot: TimeSlot, tz: ZoneInfo, attempts: int,
                  outcome: Outcome, ended_at: datetime, *, later_today: bool = False) -> datetime:
    """When to try again after attempt number `attempts` ended with `outcome` at ended_at.
    `later_today`: the slot may open later the same day (a slot other than the last one's)."""
    if attempts % policy.per_day != 0 and not outcome.answered:
        candidate = ended_at + policy.gap(outcome)
        if later_today and not inside(candidate, slot, tz):
            candidate = next_opening(candidate, slot, tz)
        if local_date(candidate, tz) == local_date(ended_at, tz) and inside(candidate, slot, tz):
            return candidate
    tomorrow = local_date(ended_at, tz) + timedelta(days=1)
    return next_opening(day_start(tomorrow, tz), slot, tz)


def after_attempt(programme: Programme, sub: Subscriber, delivery: Delivery, outcome: Outcome,
                  heard_share: float | None, ended_at: datetime,
                  slot: TimeSlot | None = None) -> AfterAttempt:
    """The delivery after its attempt number delivery.attempts ended. `slot`: where its next
    attempt goes (scheduler/retry_slots.py), None: her own slot."""
    policy = programme.retry
    heard = max(delivery.heard_share, heard_share or 0.0)
    if delivery.status is not DeliveryStatus.PENDING:      # closed meanwhile (superseded...)
        return AfterAttempt(delivery.status, None, heard, delivery.closed_at)
    if outcome.answered and (heard_share or 0.0) >= policy.delivered_share:
        return AfterAttempt(DeliveryStatus.DELIVERED, None, heard, ended_at)
    if outcome is Outcome.INVALID_NUMBER:
        return AfterAttempt(DeliveryStatus.UNDELIVERED, None, heard, ended_at, invalid_number=True)
    if delivery.attempts >= policy.max_attempts:
        return AfterAttempt(DeliveryStatus.UNDELIVERED, None, heard, ended_at)
    when = next_retry_at(policy, slot or her_slot(programme, sub), her_zone(sub),
                         delivery.attempts, outcome, ended_at, later_today=slot is not None)
    return AfterAttempt(DeliveryStatus.PENDING, when, heard, None)


def heard_on_callback(programme: Programme, delivery: Delivery, heard_share: float,
                      at: datetime) -> AfterAttempt:
    """She heard this message on her callback: it may now be delivered."""
    heard = max(delivery.heard_share, heard_share)
    if delivery.status is DeliveryStatus.PENDING and heard_share >= programme.retry.delivered_share:
        return AfterAttempt(DeliveryStatus.DELIVERED, None, heard, at)
    return AfterAttempt(delivery.status, delivery.next_attempt_at, heard, delivery.closed_at)
