"""Weeks unanswered (scheduler/unanswered.py), applied by every store: a woman whose number
never answers for N weeks of calling is deactivated when a call ends, her callback request
cancelled and her messages with it; the same scenario on every store, no branch on which."""
from dataclasses import replace
from datetime import timedelta

import pytest

from contract_drive import Claimed, drive, woman
from scheduler.model import CallbackStatus, DeliveryStatus, SubscriberStatus
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from test_store_contract import DAY, weeks_ago

WEEKS = 2
BEFORE_WEEK2 = DAY + timedelta(days=13, hours=23)


@pytest.fixture(scope="module")
def programme():
    """mMitra with the rule on: deactivated after 2 weeks unanswered."""
    p = load_programme("mmitra")
    return replace(p, retry=replace(p.retry, deactivate_after_weeks_unanswered=WEEKS))


def answers(sub_id):
    """She (sub_id) answers every call; everyone else never does."""
    def decide(a):
        return (Outcome.ANSWERED, 1.0) if a.subscriber_id == sub_id else (Outcome.NO_ANSWER, None)
    return decide


async def test_weeks_unanswered_end_her_subscription_at_the_end_of_a_call(face, programme):
    quiet = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    talks = await face.enrol(woman(2, lmp=weeks_ago(12), slot="12-15"), DAY)
    claims = await drive(face, DAY, DAY + timedelta(weeks=3), answers(talks.id),
                         max_steps=5000)
    gone = await face.subscriber(quiet.id)
    assert (gone.status, gone.status_reason) == (SubscriberStatus.DEACTIVATED, "unanswered_weeks")
    mine = [c for c in claims if c.subscriber_id == quiet.id]
    last: Claimed = mine[-1]
    enrolled = gone.enrolled_at
    assert enrolled is not None
    # called in weeks 0 and 1 from her enrolment; ended by her first call of week 2
    assert {(c.at - enrolled) // timedelta(weeks=1) for c in mine} == {0, 1, 2}
    assert (last.at - enrolled) // timedelta(weeks=1) == WEEKS
    assert [c for c in mine if c.at > last.at] == []
    assert all(d.status is not DeliveryStatus.PENDING for d in await face.deliveries_of(quiet.id))
    talker = await face.subscriber(talks.id)
    assert (talker.status, talker.status_reason) == (SubscriberStatus.ACTIVE, None)


async def test_her_pending_callback_is_cancelled_with_her(face, programme):
    quiet = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    await drive(face, DAY, BEFORE_WEEK2)                         # weeks 0, 1 unanswered
    assert (await face.subscriber(quiet.id)).status is SubscriberStatus.ACTIVE
    week2 = DAY + timedelta(weeks=2)                             # she was enrolled at DAY
    cb = await face.missed_call(quiet.id, week2 + timedelta(minutes=30))
    assert cb is not None and cb.next_attempt_at is not None and cb.next_attempt_at >= week2
    [a] = await face.claim(cb.next_attempt_at, "w", 10)        # the callback, in week 2
    await face.release(a.id, Outcome.NO_ANSWER, None, cb.next_attempt_at + timedelta(minutes=1))
    gone = await face.subscriber(quiet.id)
    assert (gone.status, gone.status_reason) == (SubscriberStatus.DEACTIVATED, "unanswered_weeks")
    assert [c.status for c in await face.callbacks_of(quiet.id)] == [CallbackStatus.CANCELLED]
    assert all(d.status is not DeliveryStatus.PENDING for d in await face.deliveries_of(quiet.id))


async def test_an_answered_call_restarts_her_weeks(face, programme):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    answered_once = set()

    def decide(a):                  # answers once, on day 10 of her calls, never again
        if not answered_once and a.claimed_at - DAY >= timedelta(days=10):
            answered_once.add(a.id)
            return Outcome.ANSWERED, 1.0
        return Outcome.NO_ANSWER, None
    claims = await drive(face, DAY, DAY + timedelta(weeks=5), decide, max_steps=5000)
    gone = await face.subscriber(sub.id)
    assert gone.status_reason == "unanswered_weeks"
    [answered_id] = answered_once
    answered_at = next(c.at for c in claims if c.attempt_id == answered_id)
    last = claims[-1]
    assert last.at - answered_at >= timedelta(weeks=WEEKS)       # counted from her answer
    assert last.at - answered_at < timedelta(weeks=WEEKS + 1)


async def test_a_restart_keeps_her_weeks(face, programme):
    quiet = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    await drive(face, DAY, BEFORE_WEEK2)
    assert (await face.subscriber(quiet.id)).status is SubscriberStatus.ACTIVE
    await face.restart()
    await drive(face, BEFORE_WEEK2, DAY + timedelta(weeks=4), max_steps=5000)
    gone = await face.subscriber(quiet.id)
    assert (gone.status, gone.status_reason) == (SubscriberStatus.DEACTIVATED, "unanswered_weeks")
