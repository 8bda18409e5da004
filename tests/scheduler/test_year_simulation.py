"""Whole-programme simulations: exact counts when every call is answered; invariants otherwise."""
from collections import Counter, defaultdict
from datetime import datetime, timezone

import pytest

from scheduler.model import DeliveryStatus, SubscriberStatus
from scheduler.simulation import Population, simulate

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


def test_each_woman_enrolled_at_lmp_receives_all_141_messages_once(mmitra):
    pop = Population(women=150, answer_rate=1.0, enrol="lmp", life_events=False,
                     missed_call_rate=0.0,
                     timezones=("Asia/Kolkata", "Europe/London", "Africa/Cairo"))
    # 28 days of LMPs + 280 days of pregnancy + 350 days of infancy, and a margin
    result = simulate(mmitra, pop, days=665, seed=7, start=START, keep_attempts=True)
    s, store = result.summary, result.store
    assert s["women"] == 150
    assert s["messages_due"] == s["messages_delivered"] == 150 * 141
    assert s["attempts"] == 150 * 141 and s["max_attempts_per_message"] == 1
    assert (s["calls_outside_slot"], s["calls_outside_window"], s["double_live_attempts"]) == \
        (0, 0, 0)
    every = [m.key for m in mmitra.messages]
    by_woman = defaultdict(list)
    for d in store.deliveries.values():
        assert d.status is DeliveryStatus.DELIVERED
        by_woman[d.subscriber_id].append(d.message_key)
    for sub_id, keys in by_woman.items():
        assert keys == every, f"woman {sub_id}"                 # all 141, once, in order
    assert Counter(x.status for x in store.subscribers.values()) == {
        SubscriberStatus.COMPLETED: 150}
    heard = Counter(a.message_key for a in store.attempts.values())
    assert set(heard.values()) == {150}


def test_kilkari_exact_counts(kilkari):
    pop = Population(women=40, answer_rate=1.0, enrol="lmp", life_events=False,
                     missed_call_rate=0.0)
    s = simulate(kilkari, pop, days=28 + 280 + 340, seed=3, start=START).summary
    # pregnancy pack from week 12 up to the birth on the EDD (weeks 12..39), then 48 weeks
    assert s["messages_delivered"] == 40 * (28 + 48)
    # the week-40 pregnancy message falls due on the day of birth: cancelled by the birth
    assert s["messages_cancelled"] == 40 and s["messages_superseded"] == 0


@pytest.fixture(scope="module")
def realistic(mmitra):
    pop = Population(women=400, answer_rate=0.6,
                     timezones=("Asia/Kolkata", "Europe/London", "Africa/Cairo"))
    return simulate(mmitra, pop, days=365, seed=11, start=START).summary


def test_realistic_year_keeps_the_invariants(realistic):
    s = realistic
    assert (s["calls_outside_slot"], s["calls_outside_window"], s["double_live_attempts"]) == \
        (0, 0, 0)
    assert s["max_attempts_per_message"] == 9
    assert s["messages_due"] == (s["messages_delivered"] + s["messages_undelivered"] +
                                 s["messages_superseded"] + s["messages_cancelled"] +
                                 s["messages_pending"])
    assert 0.3 < s["answer_rate_observed"] < 0.7
    assert s["messages_undelivered"] > 0 and s["messages_superseded"] > 0
    assert 0 < s["callbacks_served"] <= s["callbacks_requested"] <= s["missed_calls"]
    assert s["at_risk"] > 0
    pickup = list(s["pickup_by_attempt"].values())
    assert pickup == sorted(pickup) and pickup[0] > 0.4 and pickup[-1] > 0.9


def test_same_seed_same_result(mmitra):
    pop = Population(women=60, answer_rate=0.5)
    a = simulate(mmitra, pop, days=60, seed=5, start=START).summary
    b = simulate(mmitra, pop, days=60, seed=5, start=START).summary
    c = simulate(mmitra, pop, days=60, seed=6, start=START).summary
    assert a == b and a != c


@pytest.mark.parametrize("kw,error", [
    (dict(women=-1), "women"), (dict(women=1, answer_rate=1.5), "answer rate"),
    (dict(women=1, enrol="later"), "enrol"), (dict(women=1, busy_share=2), "between 0 and 1"),
])
def test_population_errors(kw, error):
    with pytest.raises(ValueError, match=error):
        Population(**kw)


def test_simulate_needs_an_aware_start_and_a_day(mmitra):
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate(mmitra, Population(women=1), days=1, seed=1, start=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="at least 1"):
        simulate(mmitra, Population(women=1), days=0, seed=1, start=START)
