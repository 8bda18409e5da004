"""The SQLite scheduling store: the main paths of the contract, on a real database."""
from datetime import date, datetime, timedelta, timezone

import pytest

from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.adapters.store import Store
from scheduler.model import (AttemptKind, CallbackStatus, DeliveryStatus, LifeEvent,
                             SchedulerError, Subscriber, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.programme import load_programme

# 2026-11-24 04:00 UTC = 09:30 in Kolkata: inside the 09-12 slot
NOW = datetime(2026, 11, 24, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
async def sched(tmp_path):
    store = await Store.open(tmp_path / "ivr.db")
    yield ScheduleStore(store, load_programme("mmitra"))
    await store.close()


def woman(phone="919000011", weeks=12, slot="09-12") -> Subscriber:
    return Subscriber(id=0, phone=phone, language="hi", slot=slot,
                      lmp=NOW.date() - timedelta(weeks=weeks))


async def test_enrol_plans_the_message_for_her_week_and_refuses_a_live_duplicate(sched):
    sub = await sched.enrol(woman(), NOW, actor="op")
    [d] = await sched.deliveries_of(sub.id)
    assert d.message_key == "mmitra-p017" and d.status is DeliveryStatus.PENDING
    assert d.next_attempt_at == NOW                    # inside her slot: due now
    assert sub.plan_at is not None and sub.plan_at > NOW
    with pytest.raises(SchedulerError, match="already enrolled"):
        await sched.enrol(woman(), NOW, actor="op")
    audit = await sched.store.fetchall("SELECT actor, action FROM audit")
    assert [tuple(r) for r in audit] == [("op", "enrol")]


async def test_claim_release_busy_then_answered(sched):
    sub = await sched.enrol(woman(), NOW, actor="op")
    [a] = await sched.claim(NOW, "me", 10)
    assert (a.kind, a.number, a.acquired_by) == (AttemptKind.SCHEDULED, 1, "me")
    assert await sched.claim(NOW, "me", 10) == []      # one live call per woman
    await sched.release(a.id, Outcome.BUSY, None, NOW + timedelta(seconds=5))
    [d] = await sched.deliveries_of(sub.id)
    assert d.status is DeliveryStatus.PENDING and d.attempts == 1
    assert d.next_attempt_at == NOW + timedelta(seconds=5) + sched.programme.retry.gap(Outcome.BUSY)
    assert await sched.claim(NOW + timedelta(minutes=1), "me", 10) == []   # not yet
    [a2] = await sched.claim(d.next_attempt_at, "me", 10)
    assert a2.number == 2
    done = await sched.release(a2.id, Outcome.ANSWERED, 0.8, d.next_attempt_at)
    assert done.outcome is Outcome.ANSWERED
    d, nxt = await sched.deliveries_of(sub.id)
    assert d.status is DeliveryStatus.DELIVERED and d.heard_share == 0.8
    # delivered: her next message is planned at once, due on its own day
    assert nxt.message_key == "mmitra-p018" and nxt.status is DeliveryStatus.PENDING
    assert nxt.next_attempt_at > d.closed_at
    with pytest.raises(SchedulerError, match="not live"):
        await sched.release(a2.id, Outcome.FAILED, None, NOW)


async def test_work_outside_her_slot_moves_to_its_next_opening(sched):
    sub = await sched.enrol(woman(slot="18-21"), NOW, actor="op")
    assert await sched.claim(NOW, "me", 10) == []
    [d] = await sched.deliveries_of(sub.id)
    # 18:00 Kolkata = 12:30 UTC
    assert d.next_attempt_at == datetime(2026, 11, 24, 12, 30, tzinfo=timezone.utc)
    assert await sched.next_wake() <= d.next_attempt_at


async def test_missed_call_makes_one_callback_served_first(sched):
    first = await sched.enrol(woman("919000011"), NOW, actor="op")
    other = await sched.enrol(woman("919000012"), NOW, actor="op")
    cb = await sched.missed_call(other.id, NOW)
    assert cb is not None and cb.status is CallbackStatus.PENDING
    assert await sched.missed_call(other.id, NOW + timedelta(minutes=1)) is None   # merged
    claimed = await sched.claim(NOW, "me", 1)
    assert [(a.kind, a.subscriber_id) for a in claimed] == [(AttemptKind.CALLBACK, other.id)]
    await sched.release(claimed[0].id, Outcome.ANSWERED, 1.0, NOW)
    d = (await sched.deliveries_of(other.id))[0]
    assert d.status is DeliveryStatus.DELIVERED          # heard in full on her callback
    [a] = await sched.claim(NOW, "me", 5)
    assert a.subscriber_id == first.id


async def test_life_event_and_opt_out_stop_calls_at_once(sched):
    sub = await sched.enrol(woman(), NOW, actor="op")
    ended = await sched.life_event(sub.id, LifeEvent.MISCARRIAGE, NOW, actor="hw")
    assert ended.status is SubscriberStatus.DEACTIVATED
    [d] = await sched.deliveries_of(sub.id)
    assert d.status is DeliveryStatus.CANCELLED
    assert await sched.claim(NOW, "me", 10) == []
    with pytest.raises(SchedulerError):
        await sched.opt_out(sub.id, NOW, actor="op")


async def test_birth_moves_her_to_the_infant_track(sched):
    sub = await sched.enrol(woman(weeks=39), NOW, actor="op")
    born = await sched.register_birth(sub.id, NOW.date() - timedelta(days=2), NOW, actor="hw")
    keys = [d.message_key for d in await sched.deliveries_of(born.id)]
    assert keys[-1].startswith("mmitra-i")
    statuses = [d.status for d in await sched.deliveries_of(born.id)]
    assert statuses[:-1] == [DeliveryStatus.CANCELLED] * (len(statuses) - 1)


async def test_reap_closes_a_dead_owners_call_and_it_is_retried(sched):
    sub = await sched.enrol(woman(), NOW, actor="op")
    [a] = await sched.claim(NOW, "dead", 1)
    later = NOW + sched.programme.retry.lease + timedelta(seconds=1)
    assert await sched.reap(later) == [a.id]
    assert await sched.live_attempts() == []
    [d] = await sched.deliveries_of(sub.id)
    assert d.status is DeliveryStatus.PENDING and d.next_attempt_at is not None


async def test_enrol_many_is_all_or_nothing(sched):
    good = Enrolment(woman("919000011"))
    bad = Enrolment(Subscriber(id=0, phone="919000012", language="xx", slot="09-12",
                               lmp=date(2026, 9, 1)))
    with pytest.raises(SchedulerError, match="language"):
        await sched.enrol_many([good, bad], NOW, actor="import")
    assert (await sched.store.fetchall("SELECT COUNT(*) FROM subscribers"))[0][0] == 0
    subs = await sched.enrol_many([good], NOW, actor="import")
    assert len(subs) == 1


async def test_run_plans_supersedes_an_undelivered_message(sched):
    sub = await sched.enrol(woman(), NOW, actor="op")
    [first] = await sched.deliveries_of(sub.id)
    later = sub.plan_at + timedelta(hours=1)
    assert await sched.run_plans(later) == 1
    old, new = await sched.deliveries_of(sub.id)
    assert old.id == first.id and old.status is DeliveryStatus.SUPERSEDED
    assert new.status is DeliveryStatus.PENDING and new.message_key == "mmitra-p018"


async def test_update_fixes_the_record_checks_it_and_replans(sched):
    sub = await sched.enrol(woman(weeks=12), NOW, actor="op")
    fixed = await sched.update(sub.id, NOW, actor="op", lmp=NOW.date() - timedelta(weeks=20),
                               name="सुनीता", phone="919000099")
    assert fixed.phone == "919000099" and fixed.edd == fixed.lmp + timedelta(days=280)
    keys = [(d.message_key, d.status) for d in await sched.deliveries_of(sub.id)]
    assert keys[-1] == ("mmitra-p033", DeliveryStatus.PENDING)     # her real week now
    with pytest.raises(SchedulerError, match="not offered"):
        await sched.update(sub.id, NOW, actor="op", language="xx")
    with pytest.raises(SchedulerError, match="cannot update"):
        await sched.update(sub.id, NOW, actor="op", status="active")
    other = await sched.enrol(woman("919000012"), NOW, actor="op")
    with pytest.raises(SchedulerError, match="already enrolled"):
        await sched.update(other.id, NOW, actor="op", phone="919000099")
    detail = (await sched.store.fetchall(
        "SELECT detail FROM audit WHERE action = 'update'"))[0][0]
    assert "919000099" not in detail and "phone" in detail


async def test_claims_move_a_closed_slots_calls_in_bounded_steps(sched):
    """At most move_batch out-of-slot calls move per claim (no transaction holds the database
    for seconds at a slot change); repeated claims still reach the open slot."""
    small = ScheduleStore(sched.store, sched.programme, move_batch=2)
    day = datetime(2026, 11, 24, 2, 30, tzinfo=timezone.utc)      # 08:00 in Kolkata
    late = [await small.enrol(woman(f"9190000{i:02}"), day, actor="op") for i in range(5)]
    now = await small.enrol(woman("919000099", slot="12-15"), day, actor="op")
    at = datetime(2026, 11, 24, 7, 0, tzinfo=timezone.utc)         # 12:30 in Kolkata
    claimed, claims = [], 0
    while not claimed and claims < 5:             # two moved per claim, then hers
        claimed += await small.claim(at, "w", 1)
        claims += 1
    assert [a.subscriber_id for a in claimed] == [now.id] and claims == 3
    tomorrow = datetime(2026, 11, 25, 3, 30, tzinfo=timezone.utc)  # 09:00 in Kolkata
    for s in late:
        [d] = await small.deliveries_of(s.id)
        assert d.next_attempt_at == tomorrow and d.attempts == 0
