"""The simulation with retry_slots: the default output is the one before (pinned), and no
policy calls outside the window; learned and random retries stay in the programme's slots."""
import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from cli import main
from scheduler.model import AttemptKind
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.simulation import Population, simulate
from scheduler.slots import zone

START = datetime(2026, 1, 5, tzinfo=timezone.utc)

# `simulate(mmitra, Population(women=150), days=45, seed=7, start=START)` at commit f60cf2a,
# before retry_slots: the default must not move.
BEFORE = {
    "answer_rate_observed": 0.3843, "answered": 1475, "at_risk": 4, "attempts": 3838,
    "attempts_callback": 77, "callbacks_requested": 69, "callbacks_served": 69,
    "calls_outside_slot": 0, "calls_outside_window": 0, "days": 45,
    "deactivated_by_reason": {"miscarriage": 6}, "double_live_attempts": 0,
    "events_refused": 3, "heard_mean": 0.7247, "max_attempts_per_message": 9,
    "messages_cancelled": 13, "messages_delivered": 1449, "messages_due": 1673,
    "messages_pending": 55, "messages_superseded": 37, "messages_undelivered": 119,
    "missed_calls": 92,
    "pickup_by_attempt": {"1": 0.564, "2": 0.724, "3": 0.8049, "4": 0.8369, "5": 0.8576,
                          "6": 0.8657, "7": 0.8708, "8": 0.8783, "9": 0.8821},
    "programme": "mmitra", "women": 150,
    "women_by_status": {"active": 135, "deactivated": 6, "opted_out": 6, "paused": 3}}


def test_the_default_output_is_unchanged(mmitra):
    got = simulate(mmitra, Population(women=150), days=45, seed=7, start=START).summary
    assert {k: got[k] for k in BEFORE} == BEFORE
    assert got["retry_slots"] == "own" and got["slot_mismatch"] is None
    assert got["attempts_per_delivered"] == round(3838 / 1449, 4)
    assert 1.0 < got["channel_minutes_per_delivered"] < 3.0


def test_own_is_the_default_with_or_without_the_option(mmitra):
    pop = Population(women=80, slot_mismatch=0.3)
    a = simulate(mmitra, pop, days=30, seed=2, start=START).summary
    b = simulate(mmitra, pop, days=30, seed=2, start=START,
                 retry_slots=RetrySlots.OWN).summary
    a.pop("elapsed_seconds", None), b.pop("elapsed_seconds", None)
    assert a == b


@pytest.mark.parametrize("mode", list(RetrySlots))
def test_every_call_inside_the_window_and_a_programme_slot(mmitra, mode):
    result = simulate(mmitra, Population(women=120, slot_mismatch=0.3), days=40, seed=5,
                      start=START, keep_attempts=True, retry_slots=mode)
    s, store = result.summary, result.store
    assert s["calls_outside_window"] == 0 and s["calls_outside_slot"] == 0
    assert s["double_live_attempts"] == 0 and s["retry_slots"] == mode.value
    elsewhere = 0
    for a in store.attempts.values():
        if a.kind is not AttemptKind.SCHEDULED:
            continue
        her = store.subscribers[a.subscriber_id]
        local = a.claimed_at.astimezone(zone(her.timezone)).time()
        assert mmitra.window.contains(local)
        assert any(slot.contains(local) for slot in mmitra.slots)
        if a.number == 1:
            assert mmitra.slot(her.slot).contains(local)      # a first attempt: her slot
        elsewhere += not mmitra.slot(her.slot).contains(local)
    if mode is RetrySlots.OWN:
        assert elsewhere == 0
    else:
        assert elsewhere > 0                                  # retries did move


def test_learned_answers_more_often_where_slots_are_mismatched(mmitra):
    pop = Population(women=300, slot_mismatch=0.5)
    own, learned = (simulate(mmitra, pop, days=60, seed=3, start=START, retry_slots=m).summary
                    for m in (RetrySlots.OWN, RetrySlots.LEARNED))
    assert learned["answer_rate_observed"] > own["answer_rate_observed"]
    assert learned["attempts_per_delivered"] < own["attempts_per_delivered"]


def test_the_command_options():
    r = CliRunner().invoke(main, ["simulate", "--programme", "mmitra", "--women", "60",
                                  "--days", "30", "--slot-mismatch", "0.3", "--retry-slots",
                                  "learned", "--seed", "4", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["retry_slots"] == "learned" and data["slot_mismatch"] == 0.3
    assert data["calls_outside_window"] == 0 and data["messages_delivered"] > 0
    assert data["attempts_per_delivered"] == round(data["attempts"] / data["messages_delivered"],
                                                   4)
    bad = CliRunner().invoke(main, ["simulate", "--retry-slots", "best", "--json"])
    assert bad.exit_code == 2 and "best" in bad.output


def answered_on_her_away_day(result):
    """Scheduled calls answered on the woman's away weekday (her local date)."""
    store, n = result.store, 0
    for a in store.attempts.values():
        if a.kind is AttemptKind.SCHEDULED and a.outcome is Outcome.ANSWERED:
            her = store.subscribers[a.subscriber_id]
            n += a.claimed_at.astimezone(zone(her.timezone)).weekday() == \
                result.women[her.id].away
    return n


def test_the_weekday_effect_each_woman_has_an_away_day(mmitra):
    """away_day_answer 0: she never answers on her away day; without the effect (1.0) she
    does, about 1/7 of her answers. Each woman's away day is one of 7, drawn."""
    runs = {f: simulate(mmitra, Population(women=60, answer_rate=0.9, slot_mismatch=0.0,
                                           away_day_answer=f),
                        days=60, seed=4, start=START, keep_attempts=True)
            for f in (0.0, 1.0)}
    assert answered_on_her_away_day(runs[0.0]) == 0
    assert answered_on_her_away_day(runs[1.0]) > 50
    assert {w.away for w in runs[1.0].women.values()} == set(range(7))
    assert runs[0.0].summary["answer_rate_observed"] < runs[1.0].summary["answer_rate_observed"]


def test_the_oracle_retries_where_she_answers_and_stays_in_the_window(mmitra):
    pop = Population(women=200, slot_mismatch=0.5)
    own = simulate(mmitra, pop, days=50, seed=3, start=START, retry_slots=RetrySlots.OWN)
    oracle = simulate(mmitra, pop, days=50, seed=3, start=START, keep_attempts=True,
                      oracle=True)
    s = oracle.summary
    assert s["retry_slots"] == "oracle"
    assert s["calls_outside_window"] == 0 and s["calls_outside_slot"] == 0
    assert s["attempts_per_delivered"] < own.summary["attempts_per_delivered"]
    for a in oracle.store.attempts.values():
        her = oracle.store.subscribers[a.subscriber_id]
        if a.kind is AttemptKind.SCHEDULED and a.number == 1:
            assert mmitra.slot(her.slot).contains(a.claimed_at.astimezone(zone(her.timezone))
                                                  .time())
    with pytest.raises(ValueError, match="slot_mismatch"):
        simulate(mmitra, Population(women=5), days=2, seed=1, start=START, oracle=True)


def test_the_oracle_and_weekday_options():
    r = CliRunner().invoke(main, ["simulate", "--programme", "mmitra", "--women", "40",
                                  "--days", "20", "--slot-mismatch", "0.3", "--away-day-answer",
                                  "0.2", "--retry-slots", "oracle", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["retry_slots"] == "oracle"
    for args in (["--retry-slots", "oracle"], ["--away-day-answer", "0.5"]):
        bad = CliRunner().invoke(main, ["simulate", "--days", "2", *args])
        assert bad.exit_code == 2 and "--slot-mismatch" in bad.output
