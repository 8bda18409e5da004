"""retry_slots = "learned" applied by every store (memory, SQLite, PostgreSQL) with the one
rule of scheduler/retry_slots.py: never a call outside the window, the first attempt of a
message in her slot, her later attempts where her answers say she picks up; and the stores
make the same calls."""
from dataclasses import replace
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from contract_drive import drive, same_calls, woman
from scheduler.model import DeliveryStatus
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import load_programme
from test_store_contract import DAY, weeks_ago
from test_store_contract_compare import scenario

IST = ZoneInfo("Asia/Kolkata")
EVENING = (time(18), time(21))


def learned_mmitra():
    p = load_programme("mmitra")
    return replace(p, retry=replace(p.retry, retry_slots=RetrySlots.LEARNED))


@pytest.fixture(scope="module")
def programme():
    return learned_mmitra()


def at(c) -> time:
    return c.at.astimezone(IST).time()


def in_evening(c) -> bool:
    return EVENING[0] <= at(c) < EVENING[1]


def answers_only_in_the_evening(sub_id, morning_id):
    """`sub_id` answers only from 18:00 (her slot is 09-12); `morning_id` always answers;
    everyone else never does."""
    def decide(a):
        local = a.claimed_at.astimezone(IST).time()
        if a.subscriber_id == morning_id or \
                (a.subscriber_id == sub_id and EVENING[0] <= local < EVENING[1]):
            return Outcome.ANSWERED, 1.0
        return Outcome.NO_ANSWER, None
    return decide


async def evening_run(face):
    evening = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    morning = await face.enrol(woman(2, lmp=weeks_ago(12)), DAY)
    await face.enrol(woman(3, lmp=weeks_ago(14), slot="12-15"), DAY)
    claims = await drive(face, DAY, DAY + timedelta(weeks=6),
                         answers_only_in_the_evening(evening.id, morning.id), max_steps=5000)
    return evening, morning, claims


async def test_learned_slots_a_woman_who_answers_only_in_another_slot_gets_her_retries_there(
        face):
    evening, morning, claims = await evening_run(face)
    hers = [c for c in claims if c.subscriber_id == evening.id]
    later = [c for c in hers if c.number > 1]
    assert later and all(c.kind == "scheduled" for c in hers)
    # she is learned: once she has answered in the evening, her later attempts go there
    first_answer = next(c for c in hers if in_evening(c))
    settled = [c for c in later if c.at > first_answer.at + timedelta(weeks=1)]
    assert len(settled) >= 5
    assert all(in_evening(c) for c in settled), [str(at(c)) for c in settled]
    delivered = [d for d in await face.deliveries_of(evening.id)
                 if d.status is DeliveryStatus.DELIVERED]
    assert len(delivered) >= 8
    # the woman who answers in her slot is never moved: one attempt per message, at 09-12
    mine = [c for c in claims if c.subscriber_id == morning.id]
    assert mine and all(c.number == 1 and time(9) <= at(c) < time(12) for c in mine)


async def test_learned_slots_never_call_outside_the_window_and_first_attempts_in_her_slot(
        face):
    _, _, claims = await evening_run(face)
    assert len(claims) > 100
    assert all(time(9) <= at(c) < time(21) for c in claims)
    slots = {1: (time(9), time(12)), 2: (time(9), time(12)), 3: (time(12), time(15))}
    firsts = [c for c in claims if c.number == 1]
    assert firsts and all(slots[c.subscriber_id][0] <= at(c) < slots[c.subscriber_id][1]
                          for c in firsts)
    assert any(not time(9) <= at(c) < time(12) for c in claims if c.subscriber_id == 1)


def moved(c) -> bool:
    """A later attempt of the compare scenario's woman outside the slot she enrolled with."""
    i = c.subscriber_id - 1
    zone = ZoneInfo(["Asia/Kolkata", "Europe/London", "Africa/Cairo"][i % 3])
    start = 9 + 3 * (i % 4)
    return c.kind == "scheduled" and c.number > 1 and \
        not start <= c.at.astimezone(zone).hour < start + 3


async def test_learned_slots_every_store_makes_the_same_calls_postgres_too(both):
    memory, *others = both
    m = await scenario(memory)
    assert len(m[0]) > 200
    assert any(moved(c) for c in m[0])          # some retries went to another slot
    await same_calls(m, others, scenario)

