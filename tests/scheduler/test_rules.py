"""The store's pure rules (scheduler/rules.py): facts and `now` in, a change set out. Tables,
no store: every store applies these same changes (tests/contract checks that they do)."""
from dataclasses import replace
from datetime import date, timedelta

import pytest

from helpers import local, woman
from scheduler import lifecycle, rules
from scheduler.model import (Attempt, AttemptKind, CallbackRequest, CallbackStatus, Delivery,
                             DeliveryStatus, LifeEvent, SchedulerError, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.slots import zone

KOLKATA = "Asia/Kolkata"
NINE = local(KOLKATA, 2026, 11, 24, 9, 30)            # inside 09-12 and the window


def her(**kw):
    return woman(phone="919900000001", lmp=date(2026, 9, 1), **kw)


def delivery(**kw) -> Delivery:
    fields = dict(id=7, subscriber_id=1, message_key="mmitra-p017",
                  due_at=local(KOLKATA, 2026, 11, 24), next_attempt_at=NINE)
    fields.update(kw)
    return Delivery(**fields)


def live(kind=AttemptKind.SCHEDULED, **kw) -> Attempt:
    fields = dict(id=3, subscriber_id=1, kind=kind, message_key="mmitra-p017", number=1,
                  claimed_at=NINE, delivery_id=7 if kind is AttemptKind.SCHEDULED else None,
                  callback_id=5 if kind is AttemptKind.CALLBACK else None, acquired_by="w",
                  acquired_until=NINE + timedelta(minutes=5))
    fields.update(kw)
    return Attempt(**fields)


def request(**kw) -> CallbackRequest:
    fields = dict(id=5, subscriber_id=1, requested_at=NINE - timedelta(minutes=1),
                  next_attempt_at=NINE)
    fields.update(kw)
    return CallbackRequest(**fields)


@pytest.mark.parametrize("slot,tz,at,opening", [
    ("09-12", KOLKATA, NINE, None),
    ("09-12", KOLKATA, local(KOLKATA, 2026, 11, 24, 12, 30), local(KOLKATA, 2026, 11, 25, 9)),
    ("12-15", KOLKATA, NINE, local(KOLKATA, 2026, 11, 24, 12)),
    ("09-12", "Europe/London", local("Europe/London", 2026, 3, 29, 9, 30), None),   # DST day
    ("09-12", "Europe/London", local("Europe/London", 2026, 3, 29, 8, 30),
     local("Europe/London", 2026, 3, 29, 9)),
])
def test_slot_opening(mmitra, slot, tz, at, opening):
    assert rules.slot_opening(mmitra, mmitra.slot(slot), zone(tz), at) == opening


def test_claim_delivery_inside_her_slot_makes_a_live_attempt_carrying_her_phone(mmitra):
    c = rules.claim_delivery(mmitra, her(), delivery(attempts=2), NINE, "w")
    a = c.claimed
    assert a is not None and a.live and a.id == 0
    assert (a.number, a.kind, a.delivery_id, a.claimed_at) == (3, AttemptKind.SCHEDULED, 7, NINE)
    assert (a.phone, a.language) == ("919900000001", "hi")
    assert (a.acquired_by, a.acquired_until) == ("w", NINE + mmitra.retry.lease)
    [d] = c.deliveries
    assert (d.attempts, d.next_attempt_at, d.acquired_by, d.acquired_until) == \
        (3, None, "w", NINE + mmitra.retry.lease)


def test_claim_delivery_outside_her_slot_moves_it_and_costs_nothing(mmitra):
    c = rules.claim_delivery(mmitra, her(slot="15-18"), delivery(), NINE, "w")
    assert c.claimed is None
    [d] = c.deliveries
    assert (d.id, d.attempts, d.next_attempt_at) == (7, 0, local(KOLKATA, 2026, 11, 24, 15))


@pytest.mark.parametrize("case,status,next_at,called", [
    ("due", CallbackStatus.PENDING, None, True),
    ("paused", CallbackStatus.EXPIRED, None, False),
    ("too old", CallbackStatus.EXPIRED, None, False),
    ("night", CallbackStatus.PENDING, local(KOLKATA, 2026, 11, 25, 9), False),
    ("nothing to play", CallbackStatus.CANCELLED, None, False),
])
def test_claim_callback(mmitra, case, status, next_at, called):
    sub, cb, now = her(), request(), NINE
    mine = [delivery()]
    if case == "paused":
        sub = replace(sub, status=SubscriberStatus.PAUSED)
    if case == "too old":
        cb = request(requested_at=NINE - mmitra.callback.expire - timedelta(seconds=1))
    if case == "night":
        now = local(KOLKATA, 2026, 11, 24, 23)
        cb = request(requested_at=now)
    if case == "nothing to play":
        mine = []
    c = rules.claim_callback(mmitra, sub, cb, mine, now, "w")
    assert c.callback is not None
    assert (c.callback.status, c.callback.next_attempt_at) == (status, next_at)
    assert (c.claimed is not None) is called
    if called:
        assert (c.claimed.kind, c.claimed.number, c.claimed.callback_id) == \
            (AttemptKind.CALLBACK, 1, 5)
        assert c.callback.attempts == 1 and c.claimed.message_key == "mmitra-p017"


@pytest.mark.parametrize("outcome,heard,status,retried,plan", [
    (Outcome.ANSWERED, 0.9, DeliveryStatus.DELIVERED, False, True),
    (Outcome.BUSY, None, DeliveryStatus.PENDING, True, False),
    (Outcome.NO_ANSWER, None, DeliveryStatus.PENDING, True, False),
    (Outcome.INVALID_NUMBER, None, DeliveryStatus.UNDELIVERED, False, True),
])
def test_release_of_a_scheduled_call(mmitra, outcome, heard, status, retried, plan):
    end = NINE + timedelta(minutes=1)
    c = rules.release(mmitra, her(), live(), delivery(attempts=1, next_attempt_at=None), None,
                      [], outcome, heard, end)
    assert c.ended == rules.AttemptEnd(3, outcome, heard, end)
    [d] = c.deliveries
    assert d.status is status and (d.next_attempt_at is not None) is retried
    assert d.acquired_by is None and c.plan is plan
    gone = outcome is Outcome.INVALID_NUMBER
    assert (c.subscriber is not None) is gone
    if gone:
        assert c.subscriber.status is SubscriberStatus.DEACTIVATED
        assert c.audit == (rules.Audit("deactivate", {"reason": "invalid_number"}),)


def test_release_keeps_the_share_recorded_during_the_call_when_none_is_reported(mmitra):
    c = rules.release(mmitra, her(), live(heard_share=0.4), delivery(attempts=1), None, [],
                      Outcome.ANSWERED, None, NINE)
    assert c.ended.heard_share == 0.4 and c.deliveries[0].heard_share == 0.4


def test_release_of_an_answered_callback_serves_it_and_delivers_the_message(mmitra):
    end = NINE + timedelta(minutes=2)
    mine = [delivery(attempts=2), delivery(id=8, message_key="mmitra-p018")]
    c = rules.release(mmitra, her(), live(AttemptKind.CALLBACK), None, request(attempts=1),
                      mine, Outcome.ANSWERED, 1.0, end)
    assert (c.callback.status, c.callback.served_at) == (CallbackStatus.SERVED, end)
    [d] = c.deliveries                                         # only the message played
    assert (d.id, d.status, d.next_attempt_at, d.closed_at) == \
        (7, DeliveryStatus.DELIVERED, None, end)
    assert c.plan


def test_release_of_an_unanswered_callback_tries_again_later(mmitra):
    c = rules.release(mmitra, her(), live(AttemptKind.CALLBACK), None, request(attempts=1),
                      [delivery()], Outcome.NO_ANSWER, None, NINE)
    assert c.callback.status is CallbackStatus.PENDING
    assert c.callback.next_attempt_at == NINE + mmitra.callback.gap
    assert c.deliveries == () and not c.plan


def test_release_of_a_closed_attempt_is_refused(mmitra):
    with pytest.raises(SchedulerError):
        rules.release(mmitra, her(), live(outcome=Outcome.FAILED), delivery(), None, [],
                      Outcome.ANSWERED, 1.0, NINE)


@pytest.mark.parametrize("answered,outcome", [(True, Outcome.ANSWERED),
                                              (False, Outcome.FAILED)])
def test_the_one_reap_rule(mmitra, answered, outcome):
    assert rules.reaped(answered) is outcome
    a = live(answered_at=NINE + timedelta(seconds=10) if answered else None, heard_share=0.3)
    c = rules.reap(mmitra, her(), a, delivery(attempts=1), None, [], NINE + timedelta(minutes=5))
    assert (c.ended.outcome, c.ended.heard_share) == (outcome, 0.3)


def test_unclaim_gives_back_the_attempt(mmitra):
    due = NINE + timedelta(seconds=5)
    c = rules.unclaim(live(), delivery(attempts=1, next_attempt_at=None, acquired_by="w"), None,
                      due)
    assert c.unclaimed == 3
    [d] = c.deliveries
    assert (d.attempts, d.next_attempt_at, d.acquired_by) == (0, due, None)
    c = rules.unclaim(live(AttemptKind.CALLBACK), None, request(attempts=1, attempt_id=3), due)
    assert (c.callback.attempts, c.callback.next_attempt_at, c.callback.attempt_id) == \
        (0, due, None)


def test_a_change_that_ends_her_subscription_cancels_her_callbacks(mmitra):
    before = her()
    after = replace(before, status=SubscriberStatus.DEACTIVATED,
                    status_reason=LifeEvent.MISCARRIAGE.value)
    c = rules.change(mmitra, before, after, [], NINE)
    assert c.subscriber == after and c.cancel_callbacks and c.plan and c.deliveries == ()
    c = rules.change(mmitra, before, replace(before, status=SubscriberStatus.PAUSED), [], NINE)
    assert not c.cancel_callbacks


def test_a_new_slot_moves_her_pending_message_keeping_the_days_cap(mmitra):
    before = her()
    tomorrow = local(KOLKATA, 2026, 11, 25, 9)
    mine = [delivery(next_attempt_at=tomorrow),
            delivery(id=6, status=DeliveryStatus.DELIVERED, next_attempt_at=None)]
    c = rules.change(mmitra, before, replace(before, slot="15-18"), mine, NINE, new_slot=True)
    [d] = c.deliveries
    assert (d.id, d.next_attempt_at) == (7, local(KOLKATA, 2026, 11, 25, 15))


@pytest.mark.parametrize("fields,lmp,edd,error", [
    ({"lmp": date(2026, 9, 10)}, date(2026, 9, 10), date(2027, 6, 17), None),   # EDD derived
    ({"edd": date(2027, 6, 8)}, date(2026, 9, 1), date(2027, 6, 8), None),      # LMP derived
    ({"language": "xx"}, None, None, "language"),
    ({"lmp": date(2027, 1, 1)}, None, None, "future"),
])
def test_fix_record(mmitra, fields, lmp, edd, error):
    before = lifecycle.enrol(mmitra, her(), NINE)
    if error:
        with pytest.raises(SchedulerError, match=error):
            lifecycle.fix_record(mmitra, before, fields, NINE)
        return
    after = lifecycle.fix_record(mmitra, before, fields, NINE)
    assert (after.lmp, after.edd) == (lmp, edd)
    assert (after.status, after.enrolled_at) == (before.status, before.enrolled_at)


def test_a_closed_record_cannot_be_fixed(mmitra):
    gone = replace(her(), status=SubscriberStatus.OPTED_OUT)
    with pytest.raises(SchedulerError, match="closed"):
        lifecycle.fix_record(mmitra, gone, {"language": "hi"}, NINE)
