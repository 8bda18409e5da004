"""Missed calls: one callback request, served first, inside the calling window. Pure.

Several missed calls within `callback.merge` make one request. A request is attempted at
the first instant inside the programme's window (in her zone) from the missed call, up to
`callback.max_attempts` times `callback.gap` apart, and expires after `callback.expire`.
The callback plays the latest message she has not heard in full.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.model import (CallbackRequest, CallbackStatus, Delivery, DeliveryStatus, Subscriber,
                             SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.programme import Programme
from scheduler.notifications import is_notification
from scheduler.slots import next_opening
from scheduler.timeline import her_zone


def on_missed_call(programme: Programme, sub: Subscriber, last: CallbackRequest | None,
                   now: datetime) -> CallbackRequest | None:
    """A new request (id 0) for her missed call at `now`, or None when it merges with `last`
    (her most recent request) or she is not active."""
    if sub.status is not SubscriberStatus.ACTIVE:
        return None
    if last is not None and (last.status is CallbackStatus.PENDING
                             or now - last.requested_at < programme.callback.merge):
        return None
    return CallbackRequest(id=0, subscriber_id=sub.id, requested_at=now,
                           next_attempt_at=next_opening(now, programme.window, her_zone(sub)))


def callback_message(programme: Programme, deliveries: list[Delivery],
                     now: datetime) -> str | None:
    """Key of the latest due message she has not heard in full (else the latest due one);
    a notification call (scheduler/notifications.py) is never replayed on a callback."""
    due = [d for d in deliveries
           if d.status is not DeliveryStatus.CANCELLED and d.due_at <= now
           and not is_notification(d.message_key)]
    if not due:
        return None
    due.sort(key=lambda d: programme.message(d.message_key).seq)
    for d in reversed(due):
        if d.heard_share < programme.callback.heard_in_full:
            return d.message_key
    return due[-1].message_key


@dataclass(frozen=True)
class AfterCallback:
    status: CallbackStatus
    next_attempt_at: datetime | None
    served_at: datetime | None


def after_callback_attempt(programme: Programme, sub: Subscriber, request: CallbackRequest,
                           outcome: Outcome, ended_at: datetime) -> AfterCallback:
    """The request after its attempt number request.attempts ended with `outcome`."""
    policy = programme.callback
    if request.status is not CallbackStatus.PENDING:
        return AfterCallback(request.status, None, request.served_at)
    if outcome.answered:
        return AfterCallback(CallbackStatus.SERVED, None, ended_at)
    if request.attempts >= policy.max_attempts or outcome is Outcome.INVALID_NUMBER:
        return AfterCallback(CallbackStatus.EXPIRED, None, None)
    when = next_opening(ended_at + policy.gap, programme.window, her_zone(sub))
    if when - request.requested_at > policy.expire:
        return AfterCallback(CallbackStatus.EXPIRED, None, None)
    return AfterCallback(CallbackStatus.PENDING, when, None)


def expired(programme: Programme, request: CallbackRequest, now: datetime) -> bool:
    """A pending request too old to serve."""
    return request.status is CallbackStatus.PENDING and \
        now - request.requested_at > programme.callback.expire
