"""The store's rules: claim, release, unclaim, reap, and a change to a woman. Pure.

Each rule takes the facts (her Subscriber, the delivery, callback request or attempt
involved, the programme) and `now`, and returns a `Changes`: the rows as they must now be
written, the way plan_deliveries() returns a plan. A store (scheduler/memory.py,
ivr/adapters/schedule_*.py) only reads the facts and applies the changes, in one
transaction; it keeps its own indexes and bulk paths, never its own decisions.

Rows changed are given as updates (small named tuples: the row's id and the new values of
the fields a rule may change), cheap to make and to apply: the simulation makes millions.
A row the rule creates (a new attempt) has id 0; the store gives it its id, and links it
where the changes say so (the callback request's attempt_id).
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from scheduler import callbacks, lifecycle
from scheduler.model import (Attempt, AttemptKind, CallbackRequest, CallbackStatus, Delivery,
                             DeliveryStatus, SchedulerError, Subscriber,
                             SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.programme import Programme
from scheduler.retry import after_attempt, heard_on_callback
from scheduler.retry_slots import callable_slot
from scheduler.slots import TimeSlot, inside, next_opening
from scheduler.timeline import her_slot, her_zone
from scheduler.unanswered import REASON as UNANSWERED_WEEKS, Unanswered, deactivates


class Audit(NamedTuple):
    """An audit row the change writes (the store adds who and when)."""
    action: str
    detail: dict[str, str]


class DeliveryUpdate(NamedTuple):
    """A delivery row's new values."""
    id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    closed_at: datetime | None
    heard_share: float
    acquired_by: str | None
    acquired_until: datetime | None


class CallbackUpdate(NamedTuple):
    """A callback request row's new values (attempt_id: the store links a new attempt)."""
    id: int
    status: CallbackStatus
    attempts: int
    next_attempt_at: datetime | None
    served_at: datetime | None
    attempt_id: int | None


class AttemptEnd(NamedTuple):
    """A live attempt row closed: its outcome, what she heard, its end; its lease cleared."""
    id: int
    outcome: Outcome
    heard_share: float | None
    ended_at: datetime


class Changes(NamedTuple):
    """What a rule decided, as rows to write. Every field is optional. (A named tuple, like
    the updates: made for every call of the simulation, it must be cheap.)"""
    claimed: Attempt | None = None              # the new live attempt (id 0)
    ended: AttemptEnd | None = None             # the live attempt closed
    unclaimed: int | None = None                # the live attempt whose row is deleted
    deliveries: tuple[DeliveryUpdate, ...] = ()
    callback: CallbackUpdate | None = None
    subscriber: Subscriber | None = None        # her record, when it changed
    cancel_callbacks: bool = False              # her pending callback requests are cancelled
    plan: bool = False                          # plan her messages again (plan_deliveries)
    audit: tuple[Audit, ...] = ()


# ---- claim ----------------------------------------------------------------------------------
def lease_until(programme: Programme, now: datetime) -> datetime:
    return now + programme.retry.lease


def slot_opening(programme: Programme, slot: TimeSlot, tz: ZoneInfo,
                 now: datetime) -> datetime | None:
    """None when a scheduled call in this slot and zone may be placed now (inside her slot
    and the programme's window), else the slot's next opening, where her call moves."""
    local = now.astimezone(tz).time()
    if slot.contains(local) and programme.window.contains(local):
        return None
    return next_opening(now, slot, tz)


def claim_opening(programme: Programme, slot: TimeSlot, tz: ZoneInfo, attempts: int,
                  now: datetime) -> datetime | None:
    """None when her due delivery (`attempts` made so far, `slot` hers) may be called now,
    else the next opening of her slot, where it moves. A later attempt may be called in any
    programme slot when retry_slots is not own (retry_slots.callable_slot)."""
    opening = slot_opening(programme, slot, tz, now)
    if opening is not None and callable_slot(programme, slot, attempts,
                                             now.astimezone(tz).time()):
        return None
    return opening


def claim_delivery(programme: Programme, sub: Subscriber, d: Delivery, now: datetime,
                   owner: str) -> Changes:
    """Her due delivery (she is active, with no live call): called now, as a new live
    attempt leased to `owner`, or moved to the next opening of her slot."""
    opening = claim_opening(programme, her_slot(programme, sub), her_zone(sub), d.attempts, now)
    if opening is not None:
        return Changes(deliveries=(DeliveryUpdate(
            d.id, d.status, d.attempts, opening, d.closed_at, d.heard_share, d.acquired_by,
            d.acquired_until),))
    attempt = new_attempt(programme, AttemptKind.SCHEDULED, d.message_key, d.attempts + 1, now,
                          owner, subscriber_id=sub.id, phone=sub.phone, language=sub.language,
                          delivery_id=d.id)
    return Changes(claimed=attempt, deliveries=(DeliveryUpdate(
        d.id, d.status, attempt.number, None, d.closed_at, d.heard_share, owner,
        attempt.acquired_until),))


def claim_callback(programme: Programme, sub: Subscriber, cb: CallbackRequest,
                   deliveries: list[Delivery], now: datetime, owner: str) -> Changes:
    """Her due callback request (she has no live call): expired (she is no longer active,
    or it is too old), moved to the window's next opening, cancelled (nothing to play), or
    called now with the latest message she has not heard in full."""
    if sub.status is not SubscriberStatus.ACTIVE or callbacks.expired(programme, cb, now):
        return Changes(callback=_callback(cb, CallbackStatus.EXPIRED, cb.attempts, None))
    tz = her_zone(sub)
    if not inside(now, programme.window, tz):
        return Changes(callback=_callback(cb, cb.status, cb.attempts,
                                          next_opening(now, programme.window, tz)))
    key = callbacks.callback_message(programme, deliveries, now) or next(
        (d.message_key for d in deliveries if d.status is DeliveryStatus.PENDING), None)
    if key is None:
        return Changes(callback=_callback(cb, CallbackStatus.CANCELLED, cb.attempts, None))
    attempt = new_attempt(programme, AttemptKind.CALLBACK, key, cb.attempts + 1, now, owner,
                          subscriber_id=sub.id, phone=sub.phone, language=sub.language,
                          callback_id=cb.id)
    return Changes(claimed=attempt,
                   callback=_callback(cb, cb.status, attempt.number, None))


def _callback(cb: CallbackRequest, status: CallbackStatus, attempts: int,
              next_attempt_at: datetime | None) -> CallbackUpdate:
    return CallbackUpdate(cb.id, status, attempts, next_attempt_at, cb.served_at, cb.attempt_id)


def new_attempt(programme: Programme, kind: AttemptKind, key: str, number: int, now: datetime,
                owner: str, *, subscriber_id: int, phone: str, language: str,
                delivery_id: int | None = None, callback_id: int | None = None) -> Attempt:
    """Attempt number `number` (id 0), claimed at `now` and leased to `owner`, carrying what
    the call needs (her phone and language). Bulk claims call it with a row's values."""
    return Attempt(id=0, subscriber_id=subscriber_id, kind=kind, message_key=key, number=number,
                   claimed_at=now, delivery_id=delivery_id, callback_id=callback_id,
                   acquired_by=owner, acquired_until=lease_until(programme, now),
                   phone=phone, language=language)


# ---- the end of a call ----------------------------------------------------------------------
def release(programme: Programme, sub: Subscriber, a: Attempt, delivery: Delivery | None,
            request: CallbackRequest | None, deliveries: list[Delivery], outcome: Outcome,
            heard_share: float | None, ended_at: datetime,
            unanswered: Unanswered | None = None, slot: TimeSlot | None = None) -> Changes:
    """A live attempt ended with `outcome`: the attempt closed, and what follows for her
    delivery (delivered, retried when, undelivered; an invalid number ends her
    subscription) or her callback request (served, tried again, expired; the message she
    heard on it may be delivered). `delivery` is the attempt's delivery (scheduled),
    `request` its callback request and `deliveries` all of hers (callback). `unanswered`:
    her calls before this one, folded (scheduler/unanswered.py), which the stores read only
    when the programme's deactivate_after_weeks_unanswered is on: weeks unanswered end her
    subscription. `slot`: the slot of the delivery's next attempt when the programme's
    retry_slots is not own (scheduler/retry_slots.py), None: her own slot."""
    c = _release(programme, sub, a, delivery, request, deliveries, outcome, heard_share,
                 ended_at, slot)
    after = programme.retry.deactivate_after_weeks_unanswered
    if after and unanswered is not None and c.ended is not None and \
            (c.subscriber or sub).status is SubscriberStatus.ACTIVE and \
            deactivates(after, unanswered, c.ended.outcome.answered, c.ended.ended_at):
        return c._replace(
            subscriber=lifecycle.deactivate(sub, c.ended.ended_at, UNANSWERED_WEEKS),
            audit=c.audit + (Audit("deactivate", {"reason": UNANSWERED_WEEKS}),),
            cancel_callbacks=True, plan=True)
    return c


def _release(programme: Programme, sub: Subscriber, a: Attempt, delivery: Delivery | None,
             request: CallbackRequest | None, deliveries: list[Delivery], outcome: Outcome,
             heard_share: float | None, ended_at: datetime, slot: TimeSlot | None) -> Changes:
    end = close(a, outcome, heard_share, ended_at)
    heard = end.heard_share
    if a.kind is AttemptKind.SCHEDULED and delivery is not None:
        r = after_attempt(programme, sub, delivery, outcome, heard, ended_at, slot)
        gone = r.invalid_number and not sub.status.ended
        return Changes(
            ended=end, deliveries=(DeliveryUpdate(
                delivery.id, r.status, delivery.attempts, r.next_attempt_at, r.closed_at,
                r.heard_share, None, None),),
            subscriber=lifecycle.deactivate(sub, ended_at, "invalid_number") if gone else None,
            audit=(Audit("deactivate", {"reason": "invalid_number"}),) if gone else (),
            plan=(delivery.status is DeliveryStatus.PENDING
                  and r.status is not DeliveryStatus.PENDING))
    if a.kind is AttemptKind.CALLBACK and request is not None:
        r2 = callbacks.after_callback_attempt(programme, sub, request, outcome, ended_at)
        served = CallbackUpdate(request.id, r2.status, request.attempts, r2.next_attempt_at,
                                r2.served_at, request.attempt_id)
        changed: list[DeliveryUpdate] = []
        plan = False
        if outcome.answered:
            for d in deliveries:
                if d.message_key == a.message_key:
                    h = heard_on_callback(programme, d, heard or 0.0, ended_at)
                    now_closed = h.status is not DeliveryStatus.PENDING
                    changed.append(DeliveryUpdate(
                        d.id, h.status, d.attempts, None if now_closed else d.next_attempt_at,
                        h.closed_at, h.heard_share, d.acquired_by, d.acquired_until))
                    plan |= d.status is DeliveryStatus.PENDING and now_closed
        return Changes(ended=end, callback=served, deliveries=tuple(changed), plan=plan)
    return Changes(ended=end)


def close(a: Attempt, outcome: Outcome, heard_share: float | None,
          ended_at: datetime) -> AttemptEnd:
    """The attempt closed: its outcome, the share she heard (what the call reported, else
    what was recorded during the call), its end (the first one recorded), no lease."""
    if not a.live:
        raise SchedulerError(f"attempt {a.id} is not live")
    return AttemptEnd(a.id, outcome, heard_share if heard_share is not None else a.heard_share,
                      a.ended_at or ended_at)


def unclaim(a: Attempt, delivery: Delivery | None, request: CallbackRequest | None,
            due_at: datetime) -> Changes:
    """The call of a live attempt was never placed (Asterisk refused the Originate): as if
    it had not been claimed, it costs her no attempt, and its work is due at `due_at`."""
    if a.kind is AttemptKind.SCHEDULED and delivery is not None:
        d = delivery
        return Changes(unclaimed=a.id, deliveries=(DeliveryUpdate(
            d.id, d.status, d.attempts - 1, due_at, d.closed_at, d.heard_share, None, None),))
    if a.kind is AttemptKind.CALLBACK and request is not None:
        return Changes(unclaimed=a.id, callback=CallbackUpdate(
            request.id, request.status, request.attempts - 1, due_at, request.served_at, None))
    return Changes(unclaimed=a.id)


def reaped(answered: bool) -> Outcome:
    """The one reap rule, for a live attempt whose owner died (its lease ran out, or its
    process is gone): answered before the owner died, it was answered (her answer is written
    only after Asterisk was told to play her message should the owner die, dialplan/README.md:
    she heard it, so calling her again would play it twice; what she heard decides whether it
    is delivered); never answered, it failed and is retried."""
    return Outcome.ANSWERED if answered else Outcome.FAILED


def reap(programme: Programme, sub: Subscriber, a: Attempt, delivery: Delivery | None,
         request: CallbackRequest | None, deliveries: list[Delivery], now: datetime,
         unanswered: Unanswered | None = None, slot: TimeSlot | None = None) -> Changes:
    """Release a live attempt whose lease ran out by the reap rule, with what it recorded."""
    return release(programme, sub, a, delivery, request, deliveries,
                   reaped(a.answered_at is not None), None, now, unanswered, slot)


# ---- a change to a woman --------------------------------------------------------------------
def change(programme: Programme, before: Subscriber, after: Subscriber,
           deliveries: list[Delivery], now: datetime, *, new_slot: bool = False) -> Changes:
    """Her record changed (birth, life event, pause, resume, opt-out, time slot, a fix):
    saved, her pending callback requests cancelled when her subscription ended, and her
    messages planned again at once. With `new_slot`, her pending message's next attempt
    moves to the first opening of her slot at or after the time it was due (a retry put off
    to tomorrow stays tomorrow: the day's cap of attempts holds)."""
    moved: tuple[DeliveryUpdate, ...] = ()
    if new_slot:
        slot, tz = her_slot(programme, after), her_zone(after)
        moved = tuple(DeliveryUpdate(
            d.id, d.status, d.attempts, None if d.next_attempt_at is None else
            next_opening(max(now, d.next_attempt_at), slot, tz), d.closed_at, d.heard_share,
            d.acquired_by, d.acquired_until)
            for d in deliveries if d.status is DeliveryStatus.PENDING)
    return Changes(subscriber=after, deliveries=moved, cancel_callbacks=after.status.ended,
                   plan=True)
