"""Who is owed which message: enrolment, supersede, birth, life events, pause, opt-out."""
from datetime import date

import pytest
from helpers import local, woman

from scheduler.memory import MemoryStore
from scheduler.model import (DeliveryStatus, LifeEvent, SchedulerError, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.plan import plan_deliveries
from scheduler.programme import parse_programme, PROGRAMMES_DIR

LMP = date(2026, 1, 1)


def keys(store, sub_id, status=None):
    return [d.message_key for d in store.deliveries_of(sub_id)
            if status is None or d.status is status]


def test_enrolled_mid_pregnancy_starts_at_her_week(mmitra):
    now = local("Asia/Kolkata", 2026, 3, 20, 8)          # day 78 after LMP: week 11, day 1
    plan = plan_deliveries(mmitra, woman(lmp=LMP), None, now)
    assert [o.message_key for o in plan.open] == ["mmitra-p015"]   # week 11 day 0, not 14 old ones
    assert plan.open[0].due_at == local("Asia/Kolkata", 2026, 3, 19)
    assert plan.open[0].next_attempt_at == local("Asia/Kolkata", 2026, 3, 20, 9)
    assert plan.plan_at == local("Asia/Kolkata", 2026, 3, 22)     # when p016 falls due


def test_enrolled_at_lmp_waits_for_the_first_message(mmitra):
    plan = plan_deliveries(mmitra, woman(lmp=LMP), None, local("Asia/Kolkata", 2026, 1, 1, 10))
    assert plan.open[0].message_key == "mmitra-p001"
    assert plan.open[0].next_attempt_at == local("Asia/Kolkata", 2026, 1, 29, 9)


def test_next_message_supersedes_an_undelivered_one(mmitra):
    store = MemoryStore(mmitra)
    now = local("Asia/Kolkata", 2026, 1, 29, 8)
    sub = store.enrol(woman(lmp=LMP), now)
    store.run_plans(local("Asia/Kolkata", 2026, 2, 1, 0))          # p002 falls due (day 31)
    assert [(d.message_key, d.status) for d in store.deliveries_of(sub.id)] == [
        ("mmitra-p001", DeliveryStatus.SUPERSEDED), ("mmitra-p002", DeliveryStatus.PENDING)]


def test_without_supersede_the_next_message_waits(mmitra):
    text = (PROGRAMMES_DIR / "mmitra.toml").read_text().replace("supersede = true",
                                                                "supersede = false")
    prog = parse_programme(text, "mmitra-nosup.toml")
    store = MemoryStore(prog)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 1, 29, 8))
    store.run_plans(local("Asia/Kolkata", 2026, 2, 10, 0))
    assert keys(store, sub.id) == ["mmitra-p001"]
    a = store.claim(local("Asia/Kolkata", 2026, 2, 10, 9), "t", 10)[0]
    store.release(a.id, Outcome.ANSWERED, 1.0, local("Asia/Kolkata", 2026, 2, 10, 9, 2))
    # then the next one in order (not the current week's): no message skipped
    assert keys(store, sub.id) == ["mmitra-p001", "mmitra-p002"]


def test_missed_plans_are_recorded_as_superseded(mmitra):
    """After a long outage every message that fell due is accounted for."""
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 1, 29, 8))
    store.run_plans(local("Asia/Kolkata", 2026, 2, 12, 0))         # day 42: p005 due
    ds = store.deliveries_of(sub.id)
    assert [d.message_key for d in ds] == [f"mmitra-p00{i}" for i in range(1, 6)]
    assert [d.status for d in ds] == [DeliveryStatus.SUPERSEDED] * 4 + [DeliveryStatus.PENDING]


def test_birth_moves_her_to_the_infant_track_by_the_date_of_birth(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 9, 1, 8))
    assert keys(store, sub.id) == ["mmitra-p062"]        # day 243: week 34, day 3
    store.run_plans(local("Asia/Kolkata", 2026, 9, 23, 9))   # day 265: week 37, day 6
    assert keys(store, sub.id, DeliveryStatus.PENDING) == ["mmitra-p068"]
    # born on 20 September, registered on the 23rd: the infant message of day 3
    store.register_birth(sub.id, date(2026, 9, 20), local("Asia/Kolkata", 2026, 9, 23, 10))
    ds = store.deliveries_of(sub.id)
    assert [(d.message_key, d.status) for d in ds][-2:] == [
        ("mmitra-p068", DeliveryStatus.CANCELLED), ("mmitra-i004", DeliveryStatus.PENDING)]
    assert ds[-1].next_attempt_at == local("Asia/Kolkata", 2026, 9, 23, 10)   # now: in her slot


@pytest.mark.parametrize("event", [LifeEvent.MISCARRIAGE, LifeEvent.STILL_BIRTH,
                                   LifeEvent.MATERNAL_DEATH])
def test_a_life_event_stops_messages_at_once(mmitra, event):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 8))
    store.life_event(sub.id, event, local("Asia/Kolkata", 2026, 3, 1, 8, 30))
    assert store.subscribers[sub.id].status is SubscriberStatus.DEACTIVATED
    assert store.subscribers[sub.id].status_reason == event.value
    assert keys(store, sub.id, DeliveryStatus.PENDING) == []
    assert store.claim(local("Asia/Kolkata", 2026, 3, 1, 9), "t", 10) == []
    store.run_plans(local("Asia/Kolkata", 2027, 1, 1))
    assert store.claim(local("Asia/Kolkata", 2027, 1, 1, 9), "t", 10) == []


def test_infant_death_needs_a_birth_and_still_birth_needs_none(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 8))
    with pytest.raises(SchedulerError, match="no birth is registered"):
        store.life_event(sub.id, LifeEvent.INFANT_DEATH, local("Asia/Kolkata", 2026, 3, 2))
    store.register_birth(sub.id, date(2026, 9, 30), local("Asia/Kolkata", 2026, 10, 1))
    with pytest.raises(SchedulerError, match="did you mean infant_death"):
        store.life_event(sub.id, LifeEvent.STILL_BIRTH, local("Asia/Kolkata", 2026, 10, 2))
    store.life_event(sub.id, LifeEvent.INFANT_DEATH, local("Asia/Kolkata", 2026, 10, 3, 10))
    assert keys(store, sub.id, DeliveryStatus.PENDING) == []


def test_a_live_call_finishing_after_a_life_event_changes_nothing(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 8))
    a = store.claim(local("Asia/Kolkata", 2026, 3, 1, 9), "t", 10)[0]
    store.life_event(sub.id, LifeEvent.MISCARRIAGE, local("Asia/Kolkata", 2026, 3, 1, 9, 1))
    store.release(a.id, Outcome.NO_ANSWER, None, local("Asia/Kolkata", 2026, 3, 1, 9, 2))
    assert keys(store, sub.id, DeliveryStatus.PENDING) == []
    assert store.claim(local("Asia/Kolkata", 2026, 3, 1, 11), "t", 10) == []


def test_pause_and_resume_take_effect_before_the_next_call(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 8))
    store.pause(sub.id, local("Asia/Kolkata", 2026, 3, 1, 8, 59))
    assert store.claim(local("Asia/Kolkata", 2026, 3, 1, 9), "t", 10) == []
    with pytest.raises(SchedulerError, match="only an active woman can be paused"):
        store.pause(sub.id, local("Asia/Kolkata", 2026, 3, 1, 10))
    store.resume(sub.id, local("Asia/Kolkata", 2026, 3, 1, 10))
    got = store.claim(local("Asia/Kolkata", 2026, 3, 1, 10), "t", 10)
    assert [a.subscriber_id for a in got] == [sub.id]


def test_opt_out_cancels_and_cannot_be_resumed(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 8))
    store.missed_call(sub.id, local("Asia/Kolkata", 2026, 3, 1, 8, 10))
    store.opt_out(sub.id, local("Asia/Kolkata", 2026, 3, 1, 8, 30))
    assert store.claim(local("Asia/Kolkata", 2026, 3, 1, 9), "t", 10) == []
    assert keys(store, sub.id, DeliveryStatus.CANCELLED) == ["mmitra-p010"]   # day 59
    with pytest.raises(SchedulerError, match="only a paused woman can be resumed"):
        store.resume(sub.id, local("Asia/Kolkata", 2026, 3, 2))
    with pytest.raises(SchedulerError, match="subscription has ended"):
        store.register_birth(sub.id, date(2026, 9, 30), local("Asia/Kolkata", 2026, 10, 1))


def test_last_message_completes_her(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=None, child_dob=date(2026, 1, 1)),
                      local("Asia/Kolkata", 2026, 12, 17, 8))      # day 350: the last message
    assert keys(store, sub.id) == ["mmitra-i069"]
    a = store.claim(local("Asia/Kolkata", 2026, 12, 17, 9), "t", 10)[0]
    store.release(a.id, Outcome.ANSWERED, 1.0, local("Asia/Kolkata", 2026, 12, 17, 9, 2))
    assert store.subscribers[sub.id].status is SubscriberStatus.COMPLETED
    assert store.subscribers[sub.id].plan_at is None


@pytest.mark.parametrize("fields,now,error", [
    (dict(language="ta"), (2026, 3, 1), "language 'ta' is not offered"),
    (dict(slot="06-09"), (2026, 3, 1), "has no slot '06-09'"),
    (dict(timezone="Mars/Base"), (2026, 3, 1), "unknown time zone"),
    (dict(lmp=None), (2026, 3, 1), "give the LMP, the EDD"),
    (dict(lmp=date(2026, 4, 1)), (2026, 3, 1), "in the future"),
    (dict(lmp=date(2025, 1, 1)), (2026, 3, 1), "more than 44 weeks ago"),
    (dict(edd=date(2026, 3, 1)), (2026, 2, 1), "does not fit LMP"),
    (dict(lmp=None, child_dob=date(2024, 1, 1)), (2026, 3, 1), "past the end"),
])
def test_enrolment_errors(mmitra, fields, now, error):
    with pytest.raises(SchedulerError, match=error):
        MemoryStore(mmitra).enrol(woman(**fields), local("Asia/Kolkata", *now))


def test_birth_errors(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP), local("Asia/Kolkata", 2026, 3, 1, 8))
    with pytest.raises(SchedulerError, match="in the future"):
        store.register_birth(sub.id, date(2026, 3, 5), local("Asia/Kolkata", 2026, 3, 1))
    with pytest.raises(SchedulerError, match="under 20 weeks"):
        store.register_birth(sub.id, date(2026, 2, 25), local("Asia/Kolkata", 2026, 3, 1))
    store.register_birth(sub.id, date(2026, 9, 30), local("Asia/Kolkata", 2026, 10, 1))
    with pytest.raises(SchedulerError, match="already registered"):
        store.register_birth(sub.id, date(2026, 9, 29), local("Asia/Kolkata", 2026, 10, 1))
    assert store.subscribers[sub.id].child_dob == date(2026, 9, 30)


def test_a_new_slot_moves_her_next_call(mmitra):
    store = MemoryStore(mmitra)
    sub = store.enrol(woman(lmp=LMP, slot="09-12"), local("Asia/Kolkata", 2026, 3, 1, 8))
    store.change_slot(sub.id, "18-21", local("Asia/Kolkata", 2026, 3, 1, 8, 30))
    assert store.claim(local("Asia/Kolkata", 2026, 3, 1, 9), "t", 10) == []
    [a] = store.claim(local("Asia/Kolkata", 2026, 3, 1, 18), "t", 10)
    assert a.subscriber_id == sub.id
    with pytest.raises(SchedulerError, match="has no slot '21-24'"):
        store.change_slot(sub.id, "21-24", local("Asia/Kolkata", 2026, 3, 1, 19))
