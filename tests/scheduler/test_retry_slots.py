"""retry_slots: where a message's later attempts go (own, random, learned). The pure rule,
the programme's setting, the retry time in another slot, and the stores."""
import asyncio
import random
from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from scheduler.answer_model import CallFact, answer_pattern, population_prior
from scheduler.memory import MemoryStore
from scheduler.model import Attempt, AttemptKind, Delivery, SchedulerError, Subscriber
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import PROGRAMMES_DIR, ProgrammeError, parse_programme
from scheduler.retry import next_retry_at
from scheduler.retry_slots import Learner, callable_slot, next_slot, reachable
from scheduler.slots import zone

MMITRA = (PROGRAMMES_DIR / "mmitra.toml").read_text(encoding="utf-8")
IST = zone("Asia/Kolkata")


def with_slots(programme, mode: RetrySlots):
    return replace(programme, retry=replace(programme.retry, retry_slots=mode))


def evening_pattern(programme):
    """Answered every call in 18-21, none elsewhere, 100 calls in each slot."""
    names = [s.name for s in programme.slots]
    facts = [CallFact(n, 0, n == "18-21") for n in names for _ in range(100)]
    return answer_pattern(facts, population_prior([facts], names))


@pytest.mark.parametrize("mode, number, expected", [
    (RetrySlots.OWN, 1, "09-12"), (RetrySlots.OWN, 2, "09-12"), (RetrySlots.OWN, 9, "09-12"),
    (RetrySlots.RANDOM, 1, "09-12"), (RetrySlots.LEARNED, 1, "09-12"),
    (RetrySlots.LEARNED, 2, "18-21"), (RetrySlots.LEARNED, 7, "18-21"),
])
def test_the_slot_of_an_attempt(mmitra, mode, number, expected):
    p = with_slots(mmitra, mode)
    got = next_slot(p, p.slot("09-12"), number, random.Random(1), evening_pattern(p))
    assert got.name == expected


def test_random_draws_every_programme_slot_and_only_those(mmitra):
    p, rng = with_slots(mmitra, RetrySlots.RANDOM), random.Random(3)
    got = {next_slot(p, p.slot("09-12"), 2, rng).name for _ in range(200)}
    assert got == {s.name for s in p.slots}


def test_learned_needs_her_pattern(mmitra):
    p = with_slots(mmitra, RetrySlots.LEARNED)
    with pytest.raises(SchedulerError, match="answer pattern"):
        next_slot(p, p.slot("09-12"), 2, random.Random(1))


@pytest.mark.parametrize("mode, attempts, at, expected", [
    (RetrySlots.OWN, 0, time(10), True), (RetrySlots.OWN, 3, time(19), False),
    (RetrySlots.LEARNED, 0, time(19), False),        # a first attempt: her slot only
    (RetrySlots.LEARNED, 1, time(19), True), (RetrySlots.RANDOM, 2, time(13), True),
    (RetrySlots.LEARNED, 1, time(21, 30), False),    # outside the window
    (RetrySlots.LEARNED, 1, time(8), False),
])
def test_where_a_call_may_be_placed(mmitra, mode, attempts, at, expected):
    p = with_slots(mmitra, mode)
    assert callable_slot(p, p.slot("09-12"), attempts, at) is expected


@pytest.mark.parametrize("slot, attempts, expected", [
    ("18-21", 1, datetime(2026, 3, 2, 18, 0)),      # later today: at its opening
    ("12-15", 1, datetime(2026, 3, 2, 12, 0)),
    ("09-12", 1, datetime(2026, 3, 2, 11, 0)),      # her slot: the gap after the call
    ("09-12", 3, datetime(2026, 3, 3, 9, 0)),       # the day's cap reached: tomorrow
    ("18-21", 3, datetime(2026, 3, 3, 18, 0)),
])
def test_the_retry_time_in_the_chosen_slot(mmitra, slot, attempts, expected):
    ended = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
    got = next_retry_at(mmitra.retry, mmitra.slot(slot), IST, attempts, Outcome.NO_ANSWER,
                        ended, later_today=True)
    assert got == expected.replace(tzinfo=IST)


def test_an_earlier_slot_waits_for_tomorrow(mmitra):
    ended = datetime(2026, 3, 2, 19, 0, tzinfo=IST)
    got = next_retry_at(mmitra.retry, mmitra.slot("09-12"), IST, 1, Outcome.BUSY, ended,
                        later_today=True)
    assert got == datetime(2026, 3, 3, 9, 0, tzinfo=IST)


@pytest.mark.parametrize("value, expected", [
    (None, RetrySlots.OWN), ('"own"', RetrySlots.OWN), ('"learned"', RetrySlots.LEARNED)])
def test_the_programme_setting(value, expected):
    text = MMITRA if value is None else MMITRA.replace(
        "[retry]\n", f"[retry]\nretry_slots = {value}\n", 1)
    assert parse_programme(text, "x.toml").retry.retry_slots is expected


@pytest.mark.parametrize("value", ['"random"', '"best"', "3", '"Learned"'])
def test_a_bad_programme_setting_is_refused(value):
    text = MMITRA.replace("[retry]\n", f"[retry]\nretry_slots = {value}\n", 1)
    with pytest.raises(ProgrammeError, match="retry_slots"):
        parse_programme(text, "x.toml")


def test_the_memory_store_needs_an_rng_to_learn(mmitra):
    with pytest.raises(SchedulerError, match="needs a random.Random"):
        MemoryStore(with_slots(mmitra, RetrySlots.LEARNED))
    assert MemoryStore(with_slots(mmitra, RetrySlots.LEARNED), rng=random.Random(1)) is not None


async def test_the_sqlite_store_takes_learned(mmitra, tmp_path):
    """It refused it until it learned (tests/contract/test_store_learned_slots.py)."""
    learned = with_slots(mmitra, RetrySlots.LEARNED)
    async with asyncio.timeout(30):
        store = await Store.open(tmp_path / "ivr.db")
        try:
            assert ScheduleStore(store, learned).programme is learned
        finally:
            await store.close()


@pytest.mark.parametrize("attempts, outcome, ended, expected", [
    (1, Outcome.NO_ANSWER, time(10), ["09-12", "12-15", "15-18", "18-21"]),
    (1, Outcome.NO_ANSWER, time(12, 30), ["12-15", "15-18", "18-21"]),
    (2, Outcome.BUSY, time(19), ["18-21"]),             # only her evening slot is left today
    (3, Outcome.NO_ANSWER, time(19), ["09-12", "12-15", "15-18", "18-21"]),  # cap: tomorrow
    (1, Outcome.NO_ANSWER, time(20, 30), ["09-12", "12-15", "15-18", "18-21"]),  # day over
])
def test_the_slots_a_retry_may_go_to(mmitra, attempts, outcome, ended, expected):
    at = datetime(2026, 3, 2, ended.hour, ended.minute, tzinfo=IST)
    assert [s.name for s in reachable(mmitra, IST, attempts, outcome, at)] == expected


def test_learned_and_random_choose_only_among_the_candidates(mmitra):
    rng, pattern = random.Random(2), evening_pattern(mmitra)
    only = (mmitra.slot("12-15"),)
    for mode in (RetrySlots.LEARNED, RetrySlots.RANDOM):
        p = with_slots(mmitra, mode)
        for _ in range(20):
            assert next_slot(p, p.slot("09-12"), 2, rng, pattern, only).name == "12-15"


def learned_call(learner, sub, slot_hour, answered, attempts=1):
    """One scheduled call of hers at slot_hour (Monday 2 March 2026, IST), noted by the learner."""
    at = datetime(2026, 3, 2, slot_hour, 30, tzinfo=IST)
    a = Attempt(id=1, subscriber_id=sub.id, kind=AttemptKind.SCHEDULED, message_key="m",
                number=attempts, claimed_at=at)
    d = Delivery(id=1, subscriber_id=sub.id, message_key="m", due_at=at, attempts=attempts)
    outcome = Outcome.ANSWERED if answered else Outcome.NO_ANSWER
    return learner.after_call(sub, a, d, outcome, at + timedelta(seconds=40))


def test_the_learned_prior_tells_her_own_slot_from_the_others(mmitra):
    """The population's calls: in the callee's own slot 09-12, 8 of 10 answered; women of
    09-12 called in 18-21 (outside their slot), 1 of 10. Her prior (Laplace: (a+1)/(n+2)):
    in her own slot 09-12: 9/12 = 0.75; in 18-21, not hers: 2/12; a slot nobody was called
    in: 1/2. The pooled prior (own slot or not) would give 18-21 2/12 too, but 09-12 the
    same 0.75 to a woman of 18-21, for whom it is another's slot: split, 1/2."""
    p = with_slots(mmitra, RetrySlots.LEARNED)
    learner = Learner(p, random.Random(1))
    morning = Subscriber(id=1, language="hi", slot="09-12", timezone="Asia/Kolkata")
    for i in range(10):
        learned_call(learner, morning, 10, answered=i < 8)
        learned_call(learner, morning, 19, answered=i < 1)
    mine = learner.prior("09-12").rates
    assert mine[("09-12", None)] == pytest.approx(9 / 12)
    assert mine[("18-21", None)] == pytest.approx(2 / 12)
    assert mine[("12-15", None)] == pytest.approx(1 / 2)
    theirs = learner.prior("18-21").rates
    assert theirs[("09-12", None)] == pytest.approx(1 / 2)     # nobody called outside 09-12
    assert theirs[("18-21", None)] == pytest.approx(1 / 2)     # nor anyone in her own 18-21
    assert learner.prior().rates[("09-12", None)] == pytest.approx(9 / 12)   # pooled


def test_a_learned_retry_stays_in_her_slot_until_her_misses_outweigh_it(mmitra):
    """The population answers 8 of 10 calls in the callee's own slot, 1 of 10 outside it:
    after one miss in her slot 09-12, her retry stays there; after many, it leaves."""
    p = with_slots(mmitra, RetrySlots.LEARNED)
    learner = Learner(p, random.Random(1))
    others = [Subscriber(id=i, language="hi", slot="09-12", timezone="Asia/Kolkata")
              for i in range(2, 12)]
    for i, other in enumerate(others):
        learned_call(learner, other, 10, answered=i < 8)
        learned_call(learner, other, 16, answered=i < 1)
    her = Subscriber(id=1, language="hi", slot="09-12", timezone="Asia/Kolkata")
    assert learned_call(learner, her, 10, answered=False).name == "09-12"
    for _ in range(12):
        slot = learned_call(learner, her, 10, answered=False)
    assert slot.name != "09-12"
