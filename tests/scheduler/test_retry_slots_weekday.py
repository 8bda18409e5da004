"""retry_slots_by_weekday: her learned cells per slot and weekday (scheduler/retry_slots.py).
The programme setting, the weekday of the next attempt, her weekday pattern (known answers
by hand), and the rule choosing by the attempt's weekday."""
import random
from dataclasses import replace
from datetime import datetime, time

import pytest

from scheduler.answer_model import CallFact, Prior
from scheduler.model import Attempt, AttemptKind, Delivery, Subscriber
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import PROGRAMMES_DIR, ProgrammeError, parse_programme
from scheduler.retry_slots import (WEEKDAY_STRENGTH, Learner, add_fact, next_slot, reachable,
                                   reachable_on, weekday_pattern)
from scheduler.slots import zone

MMITRA = (PROGRAMMES_DIR / "mmitra.toml").read_text(encoding="utf-8")
IST = zone("Asia/Kolkata")
NAMES = ["09-12", "12-15", "15-18", "18-21"]
MONDAY = datetime(2026, 3, 2, tzinfo=IST)            # 2 March 2026 is a Monday


def by_weekday(programme, on=True):
    return replace(programme, retry=replace(programme.retry, retry_slots=RetrySlots.LEARNED,
                                            retry_slots_by_weekday=on))


@pytest.mark.parametrize("value, expected", [(None, False), ("true", True), ("false", False)])
def test_the_programme_setting(value, expected):
    text = MMITRA if value is None else MMITRA.replace(
        "[retry]\n", f"[retry]\nretry_slots = \"learned\"\nretry_slots_by_weekday = {value}\n", 1)
    assert parse_programme(text, "x.toml").retry.retry_slots_by_weekday is expected


def test_weekday_cells_without_the_learned_rule_are_refused():
    text = MMITRA.replace("[retry]\n", "[retry]\nretry_slots_by_weekday = true\n", 1)
    with pytest.raises(ProgrammeError, match="needs retry_slots = \"learned\""):
        parse_programme(text, "x.toml")


def test_a_bad_programme_setting_is_refused():
    text = MMITRA.replace("[retry]\n", '[retry]\nretry_slots_by_weekday = "yes"\n', 1)
    with pytest.raises(ProgrammeError, match="retry_slots_by_weekday must be true or false"):
        parse_programme(text, "x.toml")


@pytest.mark.parametrize("attempts, outcome, ended, weekday", [
    (1, Outcome.NO_ANSWER, time(10), 0),            # today's slots: Monday
    (2, Outcome.BUSY, time(19), 0),                 # her evening slot is left today
    (3, Outcome.NO_ANSWER, time(10), 1),            # the day's cap: tomorrow, Tuesday
    (1, Outcome.NO_ANSWER, time(20, 30), 1),        # the day is over: Tuesday
])
def test_the_weekday_of_the_next_attempt(mmitra, attempts, outcome, ended, weekday):
    at = MONDAY.replace(hour=ended.hour, minute=ended.minute)
    slots, day = reachable_on(mmitra, IST, attempts, outcome, at)
    assert day == weekday
    assert slots == reachable(mmitra, IST, attempts, outcome, at)


def test_a_sunday_evening_retry_goes_on_monday(mmitra):
    sunday = datetime(2026, 3, 8, 20, 30, tzinfo=IST)
    assert reachable_on(mmitra, IST, 1, Outcome.NO_ANSWER, sunday)[1] == 0


def test_her_weekday_cells_start_from_her_slot_figure():
    """Known answers by hand: a per-slot prior of 0.5 worth 4 calls; her 09-12 calls 4, 1
    answered: per slot (2 + 1) / (4 + 4) = 0.375. On Monday 2 of those calls, none answered:
    (2 x 0.375 + 0) / (2 + 2) = 0.1875. A weekday without calls keeps 0.375; a slot without
    calls keeps the population's 0.5."""
    prior = Prior({(n, None): 0.5 for n in NAMES}, 4.0)
    slot_counts = {("09-12", None): (4, 1)}
    day_counts = {("09-12", 0): (2, 0), ("09-12", 3): (2, 1)}
    assert WEEKDAY_STRENGTH == 2.0
    p = weekday_pattern(slot_counts, day_counts, prior)
    assert p.by_weekday and len(p.cells) == 28
    assert p.of("09-12", 0).mean == pytest.approx(0.1875)
    assert p.of("09-12", 3).mean == pytest.approx((0.75 + 1) / 4)
    assert p.of("09-12", 5).mean == pytest.approx(0.375)
    assert p.of("18-21", 0).mean == pytest.approx(0.5)


def test_add_fact_counts_per_weekday_only_when_asked():
    counts: dict = {}
    add_fact(counts, CallFact("09-12", 4, True))
    add_fact(counts, CallFact("09-12", 4, False), by_weekday=True)
    add_fact(counts, CallFact("09-12", 4, True), by_weekday=True)
    assert counts == {("09-12", None): (1, 1), ("09-12", 4): (2, 1)}


def test_the_rule_chooses_by_the_weekday_of_the_attempt(mmitra):
    """Even in every slot, but on Mondays she never answers at 18-21 and always at 15-18:
    a Monday retry goes to 15-18; with the setting off, her week summed, 18-21 stays best."""
    prior = Prior({(n, None): 0.5 for n in NAMES}, 4.0)
    slot_counts = {("15-18", None): (10, 5), ("18-21", None): (10, 9)}
    day_counts = {("15-18", 0): (5, 5), ("18-21", 0): (5, 0), ("18-21", 2): (5, 5)}
    p = by_weekday(mmitra)
    pattern = weekday_pattern(slot_counts, day_counts, prior)
    own, rng = p.slot("09-12"), random.Random(1)
    assert next_slot(p, own, 2, rng, pattern, weekday=0).name == "15-18"
    assert next_slot(p, own, 2, rng, pattern, weekday=2).name == "18-21"


def test_the_memory_store_learns_per_weekday_only_when_the_programme_asks(mmitra):
    sub = Subscriber(id=1, phone="9000", language="hi", slot="09-12",
                     timezone="Asia/Kolkata", lmp=MONDAY.date())
    d = Delivery(id=1, subscriber_id=1, message_key="m", due_at=MONDAY, attempts=1,
                 next_attempt_at=MONDAY)
    a = Attempt(id=1, delivery_id=1, subscriber_id=1, number=1, kind=AttemptKind.SCHEDULED,
                message_key="m", claimed_at=MONDAY.replace(hour=10))
    for on in (False, True):
        learner = Learner(by_weekday(mmitra, on), random.Random(1))
        learner.after_call(sub, a, d, Outcome.NO_ANSWER, MONDAY.replace(hour=10, minute=1))
        assert learner.hers[1] == {("09-12", None): (1, 0)}
        assert learner.hers_by_day.get(1, {}) == ({("09-12", 0): (1, 0)} if on else {})
        assert learner.pattern(1, "09-12").by_weekday is on
