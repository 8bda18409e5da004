"""retry_slots = "learned" with retry_slots_by_weekday = true, applied by every store
(memory, SQLite, PostgreSQL) with the one rule of scheduler/retry_slots.py: her later attempts
go where her answers on that weekday say she picks up, and the stores make the same calls."""
from dataclasses import replace
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from contract_drive import drive, same_calls, woman
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import load_programme
from test_store_contract import DAY, weeks_ago
from test_store_contract_compare import scenario
from test_store_learned_slots import moved

IST = ZoneInfo("Asia/Kolkata")
AWAY = 1                       # Tuesday: she is away in the evening, home in the afternoon


@pytest.fixture(scope="module")
def programme():
    p = load_programme("mmitra")
    return replace(p, retry=replace(p.retry, retry_slots=RetrySlots.LEARNED,
                                    retry_slots_by_weekday=True))


def local(c):
    return c.at.astimezone(IST)


def answers(sub_id):
    """`sub_id` (her slot 09-12) answers at 18-21 except on Tuesdays, on Tuesdays only at
    15-18; everyone else never answers."""
    def decide(a):
        t = a.claimed_at.astimezone(IST)
        home = (time(15), time(18)) if t.weekday() == AWAY else (time(18), time(21))
        if a.subscriber_id == sub_id and home[0] <= t.time() < home[1]:
            return Outcome.ANSWERED, 1.0
        return Outcome.NO_ANSWER, None
    return decide


async def test_learned_weekday_retries_go_where_she_answers_that_weekday(face):
    her = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
    await face.enrol(woman(2, lmp=weeks_ago(14), slot="12-15"), DAY)
    claims = await drive(face, DAY, DAY + timedelta(weeks=10), answers(her.id), max_steps=8000)
    hers = [c for c in claims if c.subscriber_id == her.id]
    assert all(time(9) <= local(c).time() < time(21) for c in claims)       # the window
    assert all(time(9) <= local(c).time() < time(12) for c in hers if c.number == 1)
    # once learned (after her first four weeks), her retries on other days go to 18-21 and
    # her Tuesday retries to 15-18
    settled = [c for c in hers if c.number > 1 and c.at > DAY + timedelta(weeks=4)]
    tuesdays = [local(c) for c in settled if local(c).weekday() == AWAY]
    others = [local(c) for c in settled if local(c).weekday() != AWAY]
    assert len(tuesdays) >= 2 and len(others) >= 5, (tuesdays, others)
    assert all(t.hour in (15, 16, 17) for t in tuesdays), [str(t) for t in tuesdays]
    assert all(t.hour in (18, 19, 20) for t in others), [str(t) for t in others]


async def test_learned_weekday_every_store_makes_the_same_calls_postgres_too(both):
    memory, *others = both
    m = await scenario(memory)
    assert len(m[0]) > 200 and any(moved(c) for c in m[0])
    await same_calls(m, others, scenario)
