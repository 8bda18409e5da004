"""Retries (spread, busy sooner, 9 then undelivered), callbacks, engagement and at-risk."""
from datetime import date, datetime, time, timedelta

import pytest
from helpers import local, local_time, woman

from scheduler.callbacks import callback_message, on_missed_call
from scheduler.engagement import Engagement, after_call, at_risk, from_attempts, weeks_unanswered
from scheduler.memory import MemoryStore
from scheduler.model import (AttemptKind, CallbackRequest, CallbackStatus, Delivery,
                             DeliveryStatus, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.policy import AtRiskRule, RetryPolicy
from scheduler.retry import next_retry_at
from scheduler.slots import TimeSlot, zone

LMP = date(2026, 1, 1)
KOL = zone("Asia/Kolkata")
SLOT = TimeSlot("09-12", time(9), time(12))
POLICY = RetryPolicy()


@pytest.mark.parametrize("attempts,outcome,ended,expected", [
    (1, Outcome.NO_ANSWER, (2, 9, 1), (2, 10, 1)),       # an hour later
    (1, Outcome.BUSY, (2, 9, 1), (2, 9, 21)),            # busy: sooner
    (2, Outcome.CONGESTION, (2, 10, 0), (2, 10, 10)),
    (3, Outcome.BUSY, (2, 11, 0), (3, 9, 0)),            # 3 a day: next day
    (1, Outcome.NO_ANSWER, (2, 11, 30), (3, 9, 0)),      # would fall after the slot
    (2, Outcome.REJECTED, (2, 10, 31), (3, 9, 0)),       # 90 min: 12:01 is outside
    (4, Outcome.NO_ANSWER, (3, 9, 1), (3, 10, 1)),
])
def test_next_retry_at(attempts, outcome, ended, expected):
    t = next_retry_at(POLICY, SLOT, KOL, attempts, outcome, local("Asia/Kolkata", 2026, 3, *ended))
    assert t == local("Asia/Kolkata", 2026, 3, *expected)


def drive(store, sub_id, outcome, start, heard=None, limit=40):
    """Answer every call of hers with `outcome` as soon as it is due; returns the call times."""
    times, now = [], start
    for _ in range(limit):
        store.run_plans(now)
        claimed = store.claim(now, "t", 10)
        for a in claimed:
            times.append((a.claimed_at, a.message_key, a.number))
            store.release(a.id, outcome, heard, now + timedelta(seconds=30))
        wake = store.next_wake()
        if wake is None:
            break
        now = max(wake, now + timedelta(seconds=31))
    return times


def test_nine_attempts_three_a_day_over_three_days_then_undelivered(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP, slot="18-21"), local("Asia/Kolkata", 2026, 1, 29, 0))
    calls = [c for c in drive(store, sub.id, Outcome.NO_ANSWER,
                              local("Asia/Kolkata", 2026, 1, 29, 0)) if c[1] == "mmitra-p001"]
    assert [n for _, _, n in calls] == list(range(1, 10))
    days = [t.astimezone(KOL).date() for t, _, _ in calls]
    assert days == [date(2026, 1, 29)] * 3 + [date(2026, 1, 30)] * 3 + [date(2026, 1, 31)] * 3
    assert all(time(18) <= local_time(t, "Asia/Kolkata") < time(21) for t, _, _ in calls)
    d = store.deliveries_of(sub.id)[0]
    assert (d.status, d.attempts) == (DeliveryStatus.UNDELIVERED, 9)


def test_answered_is_delivered_once(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 1, 29, 0))
    a = store.claim(local("Asia/Kolkata", 2026, 1, 29, 9), "t", 10)[0]
    store.release(a.id, Outcome.ANSWERED, 0.5, local("Asia/Kolkata", 2026, 1, 29, 9, 1))
    d = store.deliveries_of(sub.id)[0]
    assert (d.status, d.attempts, d.heard_share) == (DeliveryStatus.DELIVERED, 1, 0.5)
    assert store.claim(local("Asia/Kolkata", 2026, 1, 29, 10), "t", 10) == []


def test_invalid_number_deactivates_her(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 1, 29, 0))
    a = store.claim(local("Asia/Kolkata", 2026, 1, 29, 9), "t", 10)[0]
    store.release(a.id, Outcome.INVALID_NUMBER, None, local("Asia/Kolkata", 2026, 1, 29, 9, 1))
    assert store.subscribers[sub.id].status is SubscriberStatus.DEACTIVATED
    assert store.subscribers[sub.id].status_reason == "invalid_number"
    assert store.deliveries_of(sub.id)[0].status is DeliveryStatus.UNDELIVERED
    store.run_plans(local("Asia/Kolkata", 2026, 2, 5))
    assert store.claim(local("Asia/Kolkata", 2026, 2, 5, 9), "t", 10) == []


def test_lost_call_is_reaped_and_retried(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 1, 29, 0))
    a = store.claim(local("Asia/Kolkata", 2026, 1, 29, 9), "worker-1", 10)[0]
    assert a.acquired_by == "worker-1"
    assert store.reap(local("Asia/Kolkata", 2026, 1, 29, 9, 4)) == []      # lease: 5 minutes
    assert store.extend(a.id, "worker-1", local("Asia/Kolkata", 2026, 1, 29, 9, 10))
    assert not store.extend(a.id, "worker-2", local("Asia/Kolkata", 2026, 1, 29, 9, 20))
    assert store.reap(local("Asia/Kolkata", 2026, 1, 29, 9, 11)) == [a.id]
    assert store.attempts[a.id].outcome is Outcome.FAILED
    d = store.deliveries_of(sub.id)[0]
    assert d.status is DeliveryStatus.PENDING
    assert d.next_attempt_at == local("Asia/Kolkata", 2026, 1, 29, 9, 41)   # failed: 30 min


# ---- callbacks ----------------------------------------------------------------------------------
def test_missed_calls_within_minutes_make_one_request(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 0))
    first = store.missed_call(sub.id, local("Asia/Kolkata", 2026, 3, 1, 14, 0))
    assert first is not None
    assert store.missed_call(sub.id, local("Asia/Kolkata", 2026, 3, 1, 14, 2)) is None
    assert store.missed_call(sub.id, local("Asia/Kolkata", 2026, 3, 1, 14, 6)) is None
    assert len(store.callbacks) == 1


def test_callback_is_served_first_inside_the_window_not_her_slot(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP, slot="09-12"), local("Asia/Kolkata", 2026, 3, 1, 0))
    cb = store.missed_call(sub.id, local("Asia/Kolkata", 2026, 3, 1, 14, 0))
    assert cb.next_attempt_at == local("Asia/Kolkata", 2026, 3, 1, 14, 0)
    [a] = store.claim(local("Asia/Kolkata", 2026, 3, 1, 14, 0), "t", 10)
    assert a.kind is AttemptKind.CALLBACK and a.message_key == "mmitra-p010"
    store.release(a.id, Outcome.ANSWERED, 1.0, local("Asia/Kolkata", 2026, 3, 1, 14, 2))
    assert store.callbacks[cb.id].status is CallbackStatus.SERVED
    assert store.deliveries_of(sub.id)[0].status is DeliveryStatus.DELIVERED
    # the scheduled call of that message is not placed any more
    assert [x.kind for x in store.claim(local("Asia/Kolkata", 2026, 3, 2, 9), "t", 10)] == []


def test_callback_at_night_waits_for_the_window(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 0))
    cb = store.missed_call(sub.id, local("Asia/Kolkata", 2026, 3, 1, 22, 30))
    assert cb.next_attempt_at == local("Asia/Kolkata", 2026, 3, 2, 9, 0)
    assert store.claim(local("Asia/Kolkata", 2026, 3, 1, 23), "t", 10) == []
    got = store.claim(local("Asia/Kolkata", 2026, 3, 2, 9), "t", 10)
    assert [a.kind for a in got] == [AttemptKind.CALLBACK]      # first, and only one live


def test_callback_plays_the_latest_message_not_heard_in_full(mmitra):
    now = local("Asia/Kolkata", 2026, 3, 1, 12)
    d = lambda i, key, status, heard, day: Delivery(  # noqa: E731
        i, 1, key, local("Asia/Kolkata", 2026, 2, day), status, heard_share=heard)
    ds = [d(1, "mmitra-p005", DeliveryStatus.DELIVERED, 0.3, 12),
          d(2, "mmitra-p006", DeliveryStatus.UNDELIVERED, 0.0, 15),
          d(3, "mmitra-p007", DeliveryStatus.DELIVERED, 1.0, 19)]
    assert callback_message(mmitra, ds, now) == "mmitra-p006"
    ds[1].heard_share = 0.95
    assert callback_message(mmitra, ds, now) == "mmitra-p005"
    ds[0].heard_share = 1.0
    assert callback_message(mmitra, ds, now) == "mmitra-p007"      # all heard: the latest
    assert callback_message(mmitra, [], now) is None


def test_no_callback_for_a_paused_woman(mmitra):
    sub = woman(status=SubscriberStatus.PAUSED)
    assert on_missed_call(mmitra, sub, None, local("Asia/Kolkata", 2026, 3, 1, 10)) is None
    old = CallbackRequest(1, 1, local("Asia/Kolkata", 2026, 3, 1, 9), CallbackStatus.SERVED)
    active = woman()
    assert on_missed_call(mmitra, active, old, local("Asia/Kolkata", 2026, 3, 1, 9, 5)) is None
    assert on_missed_call(mmitra, active, old, local("Asia/Kolkata", 2026, 3, 1, 9, 15)) is not None


def test_unanswered_callback_is_retried_then_expires(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 0))
    cb = store.missed_call(sub.id, local("Asia/Kolkata", 2026, 3, 1, 15, 0))
    now = local("Asia/Kolkata", 2026, 3, 1, 15, 0)
    for n in range(3):
        [a] = store.claim(now, "t", 10)
        assert a.kind is AttemptKind.CALLBACK and a.number == n + 1
        store.release(a.id, Outcome.NO_ANSWER, None, now + timedelta(seconds=30))
        now += timedelta(minutes=11)
    assert store.callbacks[cb.id].status is CallbackStatus.EXPIRED


# ---- engagement -----------------------------------------------------------------------------
RULE = AtRiskRule(unanswered_weeks=3, low_listening_calls=3, low_listening_share=0.25)
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=zone("UTC"))


@pytest.mark.parametrize("calls,now_days,weeks,risky", [
    ([], 30, 0, False),
    ([(0, Outcome.NO_ANSWER, None)], 20, 2, False),
    ([(0, Outcome.NO_ANSWER, None)], 21, 3, True),
    ([(0, Outcome.NO_ANSWER, None), (10, Outcome.ANSWERED, 1.0)], 30, 0, False),
    ([(0, Outcome.ANSWERED, 0.1), (3, Outcome.ANSWERED, 0.2)], 4, 0, False),
    ([(0, Outcome.ANSWERED, 0.1), (3, Outcome.ANSWERED, 0.2), (7, Outcome.ANSWERED, 0.24)], 8, 0,
     True),
    ([(0, Outcome.ANSWERED, 0.1), (3, Outcome.ANSWERED, 0.2), (5, Outcome.NO_ANSWER, None),
      (7, Outcome.ANSWERED, 0.9)], 8, 0, False),
])
def test_at_risk(calls, now_days, weeks, risky):
    eng = Engagement()
    for day, outcome, heard in calls:
        eng = after_call(eng, RULE, outcome, heard, T0 + timedelta(days=day))
    now = T0 + timedelta(days=now_days)
    assert weeks_unanswered(eng, now) == weeks
    assert at_risk(eng, RULE, now) is risky


def test_engagement_rebuilt_from_attempt_rows(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 1, 29, 0))
    drive(store, sub.id, Outcome.NO_ANSWER, local("Asia/Kolkata", 2026, 1, 29, 0), limit=12)
    rebuilt = from_attempts(store.attempts.values(), mmitra.at_risk)
    assert rebuilt == store.engagement[sub.id] and rebuilt.calls >= 9


def test_a_store_that_forgets_closed_attempts_decides_exactly_the_same(mmitra):
    """The simulation's MemoryStore(keep_closed_attempts=False) keeps only live attempts; every
    decision (retries, supersede, reaped leases, next wake-up) is the same as the full store's."""
    stores = [MemoryStore(mmitra), MemoryStore(mmitra, keep_closed_attempts=False)]
    outcomes = [Outcome.BUSY, Outcome.NO_ANSWER, Outcome.ANSWERED, Outcome.CONGESTION]
    for store in stores:
        for i in range(4):
            store.enrol(woman(id=0, phone=f"91900000{i}", lmp=LMP),
                        local("Asia/Kolkata", 2026, 1, 20))
    trace = []
    for store in stores:
        seen, now, n = [], local("Asia/Kolkata", 2026, 1, 29, 9), 0
        for _ in range(300):
            store.run_plans(now)
            seen.append(tuple(store.reap(now)))
            for a in store.claim(now, "t", 10):
                n += 1
                if n % 7 == 0:
                    continue                  # its owner "dies": reaped when the lease ends
                store.release(a.id, outcomes[n % 4], 0.9, now + timedelta(minutes=1))
            seen.append(store.next_wake())
            now = max(store.next_wake(), now + timedelta(minutes=1))
        seen.append([(d.id, d.message_key, d.status, d.attempts)
                     for d in store.deliveries.values()])
        trace.append(seen)
    assert trace[0] == trace[1]
    assert any(trace[0][i] for i in range(0, len(trace[0]) - 1, 2))   # some lease was reaped
    full, lean = stores
    assert len(full.attempts) > 100 and len(lean.attempts) == len(lean.live_attempts())
