"""The scheduling-store contract, one suite for every store (APScheduler 4's habit): each test
runs against MemoryStore (scheduler/memory.py) and ScheduleStore on a temp SQLite file."""
from datetime import timedelta

import pytest

from contract_drive import CALL, drive, local, utc, woman
from scheduler.model import (AttemptKind, CallbackStatus, DeliveryStatus, LifeEvent,
                             SchedulerError, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.slots import zone

# 2026-11-24 is a Tuesday; 02:30 UTC = 08:00 in Kolkata, before the 09-12 slot opens.
DAY = utc(2026, 11, 24, 2, 30)
OPEN = local("Asia/Kolkata", 2026, 11, 24, 9)


def weeks_ago(n: int, days: int = 0):
    return DAY.date() - timedelta(weeks=n, days=days)


async def test_enrol_at_lmp_owes_the_first_message_on_its_day(face):
    sub = await face.enrol(woman(1, lmp=DAY.date()), DAY)
    [d] = await face.deliveries_of(sub.id)
    assert d.message_key == "mmitra-p001" and d.status is DeliveryStatus.PENDING
    assert d.next_attempt_at == local("Asia/Kolkata", 2026, 12, 22, 9)   # week 4, her slot
    assert await face.claim(OPEN, "w", 10) == []


async def test_enrol_mid_pregnancy_owes_only_her_current_message(face):
    sub = await face.enrol(woman(1, lmp=weeks_ago(20, 1)), DAY)
    [d] = await face.deliveries_of(sub.id)                  # no backlog of weeks 4..19
    assert d.message_key == "mmitra-p033" and d.next_attempt_at == OPEN
    assert (await face.subscriber(sub.id)).plan_at == local("Asia/Kolkata", 2026, 11, 26)


@pytest.mark.parametrize("tz,slot,start", [
    ("Europe/London", "09-12", utc(2026, 3, 27)),          # clocks go forward on the 29th
    ("Europe/London", "18-21", utc(2026, 10, 23)),         # ... and back on the 25th
    ("Africa/Cairo", "09-12", utc(2025, 4, 23)),           # summer time from the 25th
    ("Asia/Kolkata", "18-21", utc(2026, 11, 24)),
])
async def test_calls_only_inside_her_slot_and_the_window_across_dst(face, programme, tz, slot,
                                                                     start):
    lmp = start.date() - timedelta(weeks=12)
    subs = [await face.enrol(woman(i, lmp=lmp + timedelta(days=i), slot=slot, tz=tz), start)
            for i in range(4)]
    claims = await drive(face, start, start + timedelta(days=6))
    assert len(claims) >= 4 * 9                       # every woman called, every day
    days = set()
    for c in claims:
        t = c.at.astimezone(zone(tz))
        assert programme.slot(slot).contains(t.time()) and programme.window.contains(t.time())
        days.add(t.date())
    assert len(days) >= 5
    for s in subs:
        per_day = {}
        for d in await face.deliveries_of(s.id):
            assert d.attempts <= programme.retry.max_attempts
        for c in claims:
            if c.subscriber_id == s.id:
                key = (c.message_key, c.at.astimezone(zone(tz)).date())
                per_day[key] = per_day.get(key, 0) + 1
        assert max(per_day.values()) <= programme.retry.per_day


async def test_nine_attempts_then_undelivered_and_the_next_message_follows(face, programme):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)     # p017 due today (week 12 day 0)
    claims = await drive(face, DAY, DAY + timedelta(days=3) - timedelta(hours=1))
    first = [c for c in claims if c.message_key == "mmitra-p017"]
    assert [c.number for c in first] == list(range(1, 10))
    d17, *rest = await face.deliveries_of(sub.id)
    assert (d17.status, d17.attempts, d17.next_attempt_at) == (DeliveryStatus.UNDELIVERED, 9, None)
    assert [d.message_key for d in rest] == ["mmitra-p018"]      # planned when p017 closed
    assert rest[0].status is DeliveryStatus.PENDING and rest[0].attempts == 0


async def test_busy_is_retried_sooner_than_no_answer(face, programme):
    a = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    b = await face.enrol(woman(2, lmp=weeks_ago(12)), DAY)
    calls = {c.subscriber_id: c for c in await face.claim(OPEN, "w", 10)}
    await face.release(calls[a.id].id, Outcome.BUSY, None, OPEN + CALL)
    await face.release(calls[b.id].id, Outcome.NO_ANSWER, None, OPEN + CALL)
    [da] = await face.deliveries_of(a.id)
    [db] = await face.deliveries_of(b.id)
    assert da.next_attempt_at == OPEN + CALL + programme.retry.gap(Outcome.BUSY)
    assert db.next_attempt_at == OPEN + CALL + programme.retry.gap(Outcome.NO_ANSWER)
    assert da.next_attempt_at < db.next_attempt_at


async def test_an_unreached_message_is_superseded_when_the_next_falls_due(face):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    plan_at = (await face.subscriber(sub.id)).plan_at
    assert await face.run_plans(plan_at - timedelta(seconds=1)) == 0
    assert await face.run_plans(plan_at) == 1
    old, new = await face.deliveries_of(sub.id)
    assert (old.message_key, old.status) == ("mmitra-p017", DeliveryStatus.SUPERSEDED)
    assert old.closed_at == plan_at and old.next_attempt_at is None
    assert (new.message_key, new.status) == ("mmitra-p018", DeliveryStatus.PENDING)


async def test_plans_run_a_page_at_a_time_earliest_first(face):
    """`most`: only the most earliest plans (by plan_at, then woman) now, the others at the
    next call (`ivr run` plans a page a turn between its calls)."""
    subs = [await face.enrol(woman(i, lmp=weeks_ago(12, i)), DAY) for i in range(1, 6)]
    plan_ats = {s.id: (await face.subscriber(s.id)).plan_at for s in subs}
    assert len(set(plan_ats.values())) >= 3
    later = max(plan_ats.values())
    assert await face.run_plans(later, 0) == 0
    assert await face.run_plans(later, 2) == 2
    planned = {i for i in plan_ats if (await face.subscriber(i)).plan_at > later}
    assert planned == set(sorted(plan_ats, key=lambda i: (plan_ats[i], i))[:2])   # the earliest
    assert await face.run_plans(later, 2) == 2
    assert await face.run_plans(later, 2) == 1
    assert await face.run_plans(later) == 0
    for s in subs:
        assert [d.status for d in await face.deliveries_of(s.id)] == [
            DeliveryStatus.SUPERSEDED, DeliveryStatus.PENDING]


async def test_missed_calls_merge_into_one_callback_served_before_scheduled_calls(face):
    early = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    caller = await face.enrol(woman(2, lmp=weeks_ago(12)), DAY)
    cb = await face.missed_call(caller.id, OPEN + timedelta(minutes=5))
    assert cb is not None and cb.next_attempt_at == OPEN + timedelta(minutes=5)
    assert await face.missed_call(caller.id, OPEN + timedelta(minutes=8)) is None
    at = OPEN + timedelta(minutes=6)
    [first] = await face.claim(at, "w", 1)       # early's call is due since 09:00; callback first
    assert (first.kind, first.subscriber_id, first.message_key) == \
        (AttemptKind.CALLBACK, caller.id, "mmitra-p017")
    [second] = await face.claim(at, "w", 5)      # caller has a live call: only early's
    assert second.subscriber_id == early.id
    await face.release(first.id, Outcome.ANSWERED, 1.0, at + CALL)
    [cb] = await face.callbacks_of(caller.id)
    assert (cb.status, cb.served_at, cb.attempts) == (CallbackStatus.SERVED, at + CALL, 1)
    d, nxt = await face.deliveries_of(caller.id)  # heard in full on the callback: delivered
    assert d.status is DeliveryStatus.DELIVERED and nxt.message_key == "mmitra-p018"


async def test_one_claim_takes_the_callbacks_then_the_due_calls_of_other_women(face):
    # the due calls' read says a callback is due: the callback first, then the due calls
    # read again without the caller's (she has her live call now)
    early = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    caller = await face.enrol(woman(2, lmp=weeks_ago(12)), DAY)
    late = await face.enrol(woman(3, lmp=weeks_ago(12)), DAY)
    await face.missed_call(caller.id, OPEN + timedelta(minutes=5))
    got = await face.claim(OPEN + timedelta(minutes=6), "w", 10)
    assert [(a.kind, a.subscriber_id) for a in got] == [
        (AttemptKind.CALLBACK, caller.id), (AttemptKind.SCHEDULED, early.id),
        (AttemptKind.SCHEDULED, late.id)]
    assert len({a.id for a in got}) == 3 and all(a.number == 1 for a in got)
    assert sorted(x.id for x in await face.live_attempts()) == sorted(a.id for a in got)
    assert await face.claim(OPEN + timedelta(minutes=7), "w", 10) == []


async def test_one_live_call_per_woman_even_with_a_callback_due(face):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    [a] = await face.claim(OPEN, "w", 10)
    await face.missed_call(sub.id, OPEN + timedelta(seconds=30))
    assert await face.claim(OPEN + timedelta(minutes=1), "w", 10) == []
    assert [x.id for x in await face.live_attempts()] == [a.id]
    await face.release(a.id, Outcome.NO_ANSWER, None, OPEN + timedelta(minutes=2))
    [cb] = await face.claim(OPEN + timedelta(minutes=2), "w", 10)
    assert cb.kind is AttemptKind.CALLBACK and cb.number == 1


async def test_birth_hands_her_over_to_the_infant_track(face):
    sub = await face.enrol(woman(1, lmp=weeks_ago(38)), DAY)
    [a] = await face.claim(OPEN, "w", 10)
    born = await face.register_birth(sub.id, DAY.date() - timedelta(days=1), OPEN)
    assert born.track.value == "infant" and born.child_dob == DAY.date() - timedelta(days=1)
    p, i = await face.deliveries_of(sub.id)
    assert p.message_key.startswith("mmitra-p") and p.status is DeliveryStatus.CANCELLED
    assert (i.message_key, i.status) == ("mmitra-i002", DeliveryStatus.PENDING)
    await face.release(a.id, Outcome.ANSWERED, 1.0, OPEN + CALL)   # the live call ends late
    assert [d.status for d in await face.deliveries_of(sub.id)] == \
        [DeliveryStatus.CANCELLED, DeliveryStatus.PENDING]
    [b] = await face.claim(OPEN + CALL, "w", 10)
    assert b.message_key == "mmitra-i002"


@pytest.mark.parametrize("stop", ["miscarriage", "opt_out"])
async def test_life_events_and_opt_out_stop_everything_at_once(face, stop):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    other = await face.enrol(woman(2, lmp=weeks_ago(12), slot="12-15"), DAY)
    await face.missed_call(other.id, DAY)
    cb = await face.missed_call(sub.id, DAY)
    assert cb is not None
    if stop == "opt_out":
        ended = await face.opt_out(sub.id, DAY + timedelta(minutes=1))
        assert ended.status is SubscriberStatus.OPTED_OUT
    else:
        ended = await face.life_event(sub.id, LifeEvent.MISCARRIAGE, DAY + timedelta(minutes=1))
        assert ended.status is SubscriberStatus.DEACTIVATED
    [d] = await face.deliveries_of(sub.id)
    assert d.status is DeliveryStatus.CANCELLED and d.next_attempt_at is None
    assert [c.status for c in await face.callbacks_of(sub.id)] == [CallbackStatus.CANCELLED]
    claimed = await face.claim(OPEN, "w", 10)
    assert [c.subscriber_id for c in claimed] == [other.id]           # her callback only
    assert await face.run_plans(DAY + timedelta(days=30)) == 1        # only the other woman
    assert [d.status for d in await face.deliveries_of(sub.id)] == [DeliveryStatus.CANCELLED]
    with pytest.raises(SchedulerError):
        await face.resume(sub.id, OPEN)


async def test_pause_stops_calls_and_resume_brings_her_current_message(face):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    await face.pause(sub.id, DAY)
    assert await face.claim(OPEN, "w", 10) == []
    assert await face.missed_call(sub.id, OPEN) is None             # no callback while paused
    later = local("Asia/Kolkata", 2026, 11, 28, 10)                # p018 is due since the 27th
    await face.run_plans(later)
    assert await face.claim(later, "w", 10) == []
    keys = [(d.message_key, d.status) for d in await face.deliveries_of(sub.id)]
    assert keys == [("mmitra-p017", DeliveryStatus.SUPERSEDED),     # messages kept falling due
                    ("mmitra-p018", DeliveryStatus.PENDING)]
    await face.resume(sub.id, later)
    [a] = await face.claim(later, "w", 10)
    assert (a.message_key, a.number) == ("mmitra-p018", 1)


async def test_a_dead_owners_call_is_reaped_after_its_lease_and_retried(face, programme):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    [a] = await face.claim(OPEN, "dead", 10)
    await face.restart()                                           # the worker died
    [live] = await face.live_attempts()
    assert (live.id, live.acquired_by, live.acquired_until) == \
        (a.id, "dead", OPEN + programme.retry.lease)
    assert await face.next_wake() == OPEN + programme.retry.lease
    assert await face.reap(OPEN + programme.retry.lease - timedelta(seconds=1)) == []
    end = OPEN + programme.retry.lease
    assert await face.reap(end) == [a.id]
    assert await face.live_attempts() == []
    [d] = await face.deliveries_of(sub.id)
    assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 1)
    assert d.next_attempt_at == end + programme.retry.gap(Outcome.FAILED)
    [b] = await face.claim(d.next_attempt_at, "alive", 10)
    assert (b.number, b.acquired_by) == (2, "alive")


async def test_a_dead_owners_answered_call_is_reaped_as_answered(face, programme):
    """The one reap rule: a call answered before its owner died was answered (she heard
    something): not retried with the same message; what she heard decides the delivery."""
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    [a] = await face.claim(OPEN, "dead", 10)
    await face.answered(a.id, OPEN + timedelta(seconds=20))
    await face.restart()                                           # the worker died
    [live] = await face.live_attempts()
    assert live.answered_at == OPEN + timedelta(seconds=20)
    end = OPEN + programme.retry.lease
    assert await face.reap(end) == [a.id]
    d, nxt = await face.deliveries_of(sub.id)   # mMitra: answered = delivered (not replayed)
    assert (d.status, d.attempts, d.closed_at) == (DeliveryStatus.DELIVERED, 1, end)
    assert (nxt.message_key, nxt.status) == ("mmitra-p018", DeliveryStatus.PENDING)
    assert await face.live_attempts() == []


async def test_extend_keeps_a_long_call_from_the_reaper(face, programme):
    await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    [a] = await face.claim(OPEN, "w", 10)
    later = OPEN + 2 * programme.retry.lease
    assert await face.extend(a.id, "someone else", later) is False
    assert await face.extend(a.id, "w", later) is True
    assert await face.reap(OPEN + programme.retry.lease) == []
    assert await face.next_wake() == later
    done = await face.release(a.id, Outcome.ANSWERED, 0.7, OPEN + programme.retry.lease)
    assert done.outcome is Outcome.ANSWERED and await face.extend(a.id, "w", later) is False
    with pytest.raises(SchedulerError):
        await face.release(a.id, Outcome.FAILED, None, later)


async def test_next_wake_is_the_next_thing_to_do(face, programme):
    assert await face.next_wake() is None
    sub = await face.enrol(woman(1, lmp=weeks_ago(12), slot="15-18"), DAY)
    opening = local("Asia/Kolkata", 2026, 11, 24, 15)
    assert await face.next_wake() == opening
    [a] = await face.claim(opening, "w", 10)
    assert await face.next_wake() == opening + programme.retry.lease
    await face.release(a.id, Outcome.NO_ANSWER, None, opening + CALL)
    [d] = await face.deliveries_of(sub.id)
    assert await face.next_wake() == d.next_attempt_at == \
        opening + CALL + programme.retry.gap(Outcome.NO_ANSWER)


async def test_a_new_slot_keeps_the_days_attempt_cap(face, programme):
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    claims = await drive(face, DAY, local("Asia/Kolkata", 2026, 11, 24, 13))
    assert len(claims) == programme.retry.per_day                 # today's three are spent
    [d] = await face.deliveries_of(sub.id)
    tomorrow = local("Asia/Kolkata", 2026, 11, 25, 9)
    assert d.next_attempt_at == tomorrow
    await face.change_slot(sub.id, "15-18", local("Asia/Kolkata", 2026, 11, 24, 13))
    [d] = await face.deliveries_of(sub.id)
    assert d.next_attempt_at == local("Asia/Kolkata", 2026, 11, 25, 15)   # not today at 15:00


async def test_one_claim_fills_its_batch_past_work_found_outside_its_slot(face):
    """The service was down all morning: a 09-12 call found at 12:30 moves to tomorrow and
    the claim goes on to the 12-15 call behind it."""
    late = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    now = await face.enrol(woman(2, lmp=weeks_ago(12), slot="12-15"), DAY)
    at = local("Asia/Kolkata", 2026, 11, 24, 12, 30)
    [a] = await face.claim(at, "w", 1)
    assert a.subscriber_id == now.id
    [d] = await face.deliveries_of(late.id)
    assert d.next_attempt_at == local("Asia/Kolkata", 2026, 11, 25, 9)


async def test_a_crash_and_restart_loses_nothing(face):
    subs = [await face.enrol(woman(i, lmp=weeks_ago(10 + i)), DAY) for i in range(3)]
    await face.missed_call(subs[2].id, OPEN)
    claimed = await face.claim(OPEN, "w", 2)
    await face.release(claimed[0].id, Outcome.BUSY, None, OPEN + CALL)

    async def snapshot():
        return ([await face.deliveries_of(s.id) for s in subs],
                [await face.callbacks_of(s.id) for s in subs],
                [await face.subscriber(s.id) for s in subs], await face.live_attempts(),
                await face.next_wake())
    before = await snapshot()
    await face.restart()
    assert await snapshot() == before


async def test_a_claim_moves_a_closed_slots_calls_and_reaches_the_open_slot(face):
    """Five 09-12 calls found at 12:30 move to tomorrow's opening, costing no attempt, and
    the same claim reaches the 12-15 call behind them."""
    late = [await face.enrol(woman(i, lmp=weeks_ago(12)), DAY) for i in range(5)]
    now = await face.enrol(woman(9, lmp=weeks_ago(12), slot="12-15"), DAY)
    at = local("Asia/Kolkata", 2026, 11, 24, 12, 30)
    claimed = await face.claim(at, "w", 1)
    assert [a.subscriber_id for a in claimed] == [now.id]
    tomorrow = local("Asia/Kolkata", 2026, 11, 25, 9)
    for s in late:
        [d] = await face.deliveries_of(s.id)
        assert d.next_attempt_at == tomorrow and d.attempts == 0


async def test_a_call_never_placed_costs_her_no_attempt(face):
    """Asterisk refused the Originate (shutting down): the claim is undone, her delivery and
    her callback are due again with their attempts as they were, and nothing is left live."""
    sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    [a] = await face.claim(OPEN, "w", 10)
    assert await face.unclaim(a.id, OPEN + timedelta(seconds=5))
    assert not await face.unclaim(a.id, OPEN + timedelta(seconds=5))   # once
    [d] = await face.deliveries_of(sub.id)
    assert (d.attempts, d.status, d.next_attempt_at) == \
        (0, DeliveryStatus.PENDING, OPEN + timedelta(seconds=5))
    assert await face.claim(OPEN + timedelta(seconds=4), "w", 10) == []
    [again] = await face.claim(OPEN + timedelta(seconds=5), "w", 10)
    assert (again.subscriber_id, again.number) == (sub.id, 1)
    await face.release(again.id, Outcome.BUSY, None, OPEN + CALL)
    cb = await face.missed_call(sub.id, OPEN + timedelta(minutes=10))
    [call] = await face.claim(cb.next_attempt_at, "w", 10)
    assert call.kind is AttemptKind.CALLBACK
    assert await face.unclaim(call.id, cb.next_attempt_at + timedelta(seconds=5))
    [cb] = await face.callbacks_of(sub.id)
    assert (cb.attempts, cb.status) == (0, CallbackStatus.PENDING)
    [call] = await face.claim(cb.next_attempt_at, "w", 10)
    assert (call.kind, call.number) == (AttemptKind.CALLBACK, 1)
