"""Her answer pattern (scheduler/answer_model.py): tables with known answers, and properties."""
import math
import random
from datetime import datetime, time, timezone

import pytest
from hypothesis import given, settings, strategies as st

from scheduler.answer_model import (
    AnswerPattern, CallFact, Prior, Rule, SlotEstimate, answer_pattern, check_inside,
    choose_slot, fact_of, population_prior, probability_better, slot_for_attempt, suggest_slot,
)
from scheduler.model import SchedulerError
from scheduler.outcome import Outcome
from scheduler.slots import TimeSlot, zone

NAMES = ["09-12", "12-15", "15-18", "18-21"]
SLOTS = [TimeSlot(n, time(int(n[:2])), time(int(n[3:]))) for n in NAMES]
WINDOW = TimeSlot("window", time(9), time(21))
BY_NAME = {s.name: s for s in SLOTS}


def facts(slot: str, answered: int, calls: int, weekday: int = 0) -> list[CallFact]:
    return [CallFact(slot, weekday, i < answered) for i in range(calls)]


def flat_prior(rate: float = 0.5, strength: float = 4.0) -> Prior:
    return Prior({(n, None): rate for n in NAMES}, strength)


def estimate(calls: int, answered: int, alpha: float, beta: float) -> SlotEstimate:
    return SlotEstimate(calls, answered, alpha, beta)


# --- the posterior -----------------------------------------------------------------------

def test_a_woman_with_no_history_gets_the_prior():
    prior = Prior({("09-12", None): 0.3, ("18-21", None): 0.7}, strength=10)
    pattern = answer_pattern([], prior)
    assert pattern.of("09-12").mean == pytest.approx(0.3)
    assert pattern.of("18-21").mean == pytest.approx(0.7)
    assert (pattern.of("09-12").alpha, pattern.of("09-12").beta) == pytest.approx((3.0, 7.0))
    assert pattern.of("18-21").calls == 0
    gone = answer_pattern(facts("06-09", 3, 3), prior)      # a slot the programme dropped
    assert gone.cells == pattern.cells


@pytest.mark.parametrize("rate,strength,answered,calls,mean", [
    (0.5, 4, 3, 4, 5 / 8),        # (4*0.5 + 3) / (4 + 4)
    (0.3, 10, 1, 10, 4 / 20),     # (3 + 1) / 20
    (0.3, 10, 0, 0, 0.3),         # no calls: the prior
    (0.8, 5, 0, 5, 4 / 10),       # (4 + 0) / 10
    (0.25, 2, 20, 20, 20.5 / 22),  # many calls: near her own rate
])
def test_the_shrinkage_formula_on_hand_computed_cases(rate, strength, answered, calls, mean):
    prior = Prior({("09-12", None): rate}, strength)
    got = answer_pattern(facts("09-12", answered, calls), prior).of("09-12")
    assert got.mean == pytest.approx(mean)
    assert (got.calls, got.answered) == (calls, answered)


def test_the_posterior_standard_deviation_is_the_beta_one():
    e = estimate(0, 0, 2.0, 3.0)       # Beta(2, 3): variance 6 / (25 * 6) = 0.04
    assert e.sd == pytest.approx(0.2)


def test_the_population_prior_pools_every_womans_calls():
    histories = [facts("09-12", 1, 4) + facts("18-21", 3, 3),
                 facts("09-12", 0, 4) + facts("18-21", 5, 5)]
    prior = population_prior(histories, NAMES, strength=6)
    assert prior.rates[("09-12", None)] == pytest.approx((1 + 1) / (8 + 2))
    assert prior.rates[("18-21", None)] == pytest.approx((8 + 1) / (8 + 2))
    assert prior.rates[("12-15", None)] == pytest.approx(0.5)     # nobody called there
    assert prior.strength == 6
    assert answer_pattern([], prior).of("18-21").mean == pytest.approx(0.9)


def test_a_prior_by_weekday_keeps_the_days_apart():
    history = facts("09-12", 4, 4, weekday=5) + facts("09-12", 0, 4, weekday=1)
    prior = population_prior([history], NAMES, strength=2, by_weekday=True)
    assert prior.rates[("09-12", 5)] == pytest.approx(5 / 6)
    assert prior.rates[("09-12", 1)] == pytest.approx(1 / 6)
    assert prior.rates[("09-12", 3)] == pytest.approx(0.5)
    pattern = answer_pattern(facts("09-12", 1, 1, weekday=5), prior)
    assert pattern.of("09-12", 5).mean == pytest.approx((2 * 5 / 6 + 1) / 3)
    assert pattern.of("09-12", 1).calls == 0
    with pytest.raises(SchedulerError, match="weekday"):
        pattern.of("09-12")


@pytest.mark.parametrize("rates,strength,match", [
    ({("09-12", None): 0.0}, 4, "strictly between"),
    ({("09-12", None): 1.0}, 4, "strictly between"),
    ({("09-12", None): 0.5}, 0, "strength"),
])
def test_a_prior_that_cannot_be_a_beta_is_refused(rates, strength, match):
    with pytest.raises(SchedulerError, match=match):
        Prior(rates, strength)


def test_a_slot_the_pattern_does_not_know_is_refused_by_name():
    pattern = answer_pattern([], Prior({("09-12", None): 0.5}, 4))
    with pytest.raises(SchedulerError, match="no slot '18-21'"):
        pattern.of("18-21")


@pytest.mark.parametrize("local,outcome,expected", [
    (datetime(2026, 3, 2, 18, 30), Outcome.ANSWERED, CallFact("18-21", 0, True)),   # a Monday
    (datetime(2026, 3, 7, 9, 0), Outcome.NO_ANSWER, CallFact("09-12", 5, False)),
    (datetime(2026, 3, 7, 11, 59), Outcome.BUSY, CallFact("09-12", 5, False)),
    (datetime(2026, 3, 7, 12, 0), Outcome.UNREACHABLE, CallFact("12-15", 5, False)),
    (datetime(2026, 3, 7, 21, 0), Outcome.ANSWERED, None),           # outside every slot
    (datetime(2026, 3, 7, 10, 0), Outcome.CONGESTION, None),         # says nothing of her
    (datetime(2026, 3, 7, 10, 0), Outcome.FAILED, None),
    (datetime(2026, 3, 7, 10, 0), Outcome.INVALID_NUMBER, None),
])
def test_an_attempt_becomes_a_fact_of_her_local_slot_and_weekday(local, outcome, expected):
    tz = zone("Asia/Kolkata")
    started = local.replace(tzinfo=tz).astimezone(timezone.utc)
    assert fact_of(started, outcome, SLOTS, tz) == expected


# --- the slot of a later attempt ---------------------------------------------------------

def ten_of_ten_evenings() -> AnswerPattern:
    return answer_pattern(facts("18-21", 10, 10) + facts("09-12", 0, 10), flat_prior())


@pytest.mark.parametrize("rule", list(Rule))
def test_ten_of_ten_in_the_evening_against_none_in_the_morning_picks_the_evening(rule):
    pattern = ten_of_ten_evenings()
    rng = random.Random(7)
    candidates = [BY_NAME["09-12"], BY_NAME["18-21"]]
    picks = [choose_slot(pattern, candidates, WINDOW, rng, rule=rule).name for _ in range(200)]
    assert picks == ["18-21"] * 200


def test_a_weekday_pattern_chooses_by_the_day_of_the_attempt():
    # She answers in the morning on Saturdays (5), in the evening on Tuesdays (1).
    history = facts("09-12", 6, 6, weekday=5) + facts("18-21", 0, 6, weekday=5) \
        + facts("09-12", 0, 6, weekday=1) + facts("18-21", 6, 6, weekday=1)
    prior = Prior({(n, d): 0.5 for n in NAMES for d in range(7)}, strength=2, by_weekday=True)
    pattern = answer_pattern(history, prior)
    pair = [BY_NAME["09-12"], BY_NAME["18-21"]]
    for rule in Rule:
        rng = random.Random(8)
        assert choose_slot(pattern, pair, WINDOW, rng, weekday=5, rule=rule).name == "09-12"
        assert choose_slot(pattern, pair, WINDOW, rng, weekday=1, rule=rule).name == "18-21"
    with pytest.raises(SchedulerError, match="give the weekday"):
        choose_slot(pattern, pair, WINDOW, random.Random(8))


def test_the_upper_confidence_rule_prefers_the_less_known_slot_at_equal_means():
    pattern = answer_pattern(facts("09-12", 10, 20), flat_prior())    # 09-12: 0.5, known
    chosen = choose_slot(pattern, [BY_NAME["09-12"], BY_NAME["12-15"]], WINDOW,
                         random.Random(0), rule=Rule.UPPER_CONFIDENCE)
    assert chosen.name == "12-15"                                      # 0.5, unknown


def test_the_first_attempt_stays_in_her_slot_later_ones_are_learned():
    pattern = ten_of_ten_evenings()
    her = BY_NAME["09-12"]
    rng = random.Random(3)
    candidates = [her, BY_NAME["18-21"]]
    assert slot_for_attempt(1, her, pattern, candidates, WINDOW, rng) == her
    assert [slot_for_attempt(n, her, pattern, candidates, WINDOW, rng).name
            for n in range(2, 10)] == ["18-21"] * 8


def test_thompson_sampling_with_a_seeded_rng_is_reproducible():
    pattern = answer_pattern(facts("09-12", 2, 4) + facts("15-18", 3, 5), flat_prior())
    first, again = _picks(pattern, 11, 300), _picks(pattern, 11, 300)
    other = _picks(pattern, 12, 300)
    assert first == again
    assert first != other
    assert len(set(first)) == len(SLOTS)       # it explores every slot


def _picks(pattern: AnswerPattern, seed: int, n: int) -> list[TimeSlot]:
    rng = random.Random(seed)
    return [choose_slot(pattern, SLOTS, WINDOW, rng) for _ in range(n)]


def beta_cdf(x: float, a: int, b: int) -> float:
    """I_x(a, b) for integer a, b: P(Binomial(a + b - 1, x) >= a)."""
    n = a + b - 1
    return sum(math.comb(n, j) * x ** j * (1 - x) ** (n - j) for j in range(a, n + 1))


def beta_pdf(x: float, a: int, b: int) -> float:
    return x ** (a - 1) * (1 - x) ** (b - 1) / math.exp(
        math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))


def probability_best(params: list[tuple[int, int]], steps: int = 4000) -> list[float]:
    """P(slot i has the highest value), by the midpoint rule on the exact densities."""
    out = []
    for i, (a, b) in enumerate(params):
        total = 0.0
        for k in range(steps):
            x = (k + 0.5) / steps
            others = math.prod(beta_cdf(x, c, d) for j, (c, d) in enumerate(params) if j != i)
            total += beta_pdf(x, a, b) * others
        out.append(total / steps)
    return out


def test_thompson_sampling_picks_each_slot_in_proportion_to_its_chance_of_being_best():
    # Prior Beta(1, 1) (rate 0.5, strength 2); her calls make Beta(3, 5), Beta(4, 4),
    # Beta(2, 2) and Beta(6, 3): the chances of being best are computed exactly above.
    prior = flat_prior(0.5, 2.0)
    history = facts("09-12", 2, 6) + facts("12-15", 3, 6) + facts("15-18", 1, 2) \
        + facts("18-21", 5, 7)
    pattern = answer_pattern(history, prior)
    params = [(3, 5), (4, 4), (2, 2), (6, 3)]
    assert [(pattern.of(n).alpha, pattern.of(n).beta) for n in NAMES] == params
    expected = probability_best(params)
    assert sum(expected) == pytest.approx(1.0, abs=1e-3)
    draws = 20000
    picks = [s.name for s in _picks(pattern, 2026, draws)]
    shares = [picks.count(n) / draws for n in NAMES]
    # 0.012 is over 3.5 standard errors of a share (<= 0.0036 at 20000 draws), and far
    # below the gaps between the chances (greedy on the means would give 0, 0, 0, 1).
    for share, p in zip(shares, expected, strict=True):
        assert share == pytest.approx(p, abs=0.012)
    assert min(expected) > 0.04 and max(expected) < 0.6    # no slot is a sure thing


def test_candidates_outside_the_window_are_refused_with_their_names():
    late = TimeSlot("20-22", time(20), time(22))
    with pytest.raises(SchedulerError, match=r"outside the programme's window 09:00-21:00: "
                                             r"20-22 \(20:00-22:00\)"):
        choose_slot(answer_pattern([], flat_prior()), [BY_NAME["09-12"], late], WINDOW,
                    random.Random(0))
    with pytest.raises(SchedulerError, match="no candidate"):
        check_inside([], WINDOW)
    check_inside(SLOTS, WINDOW)       # the programme's own slots are inside


# --- suggesting another slot -------------------------------------------------------------

def test_strong_evidence_suggests_the_better_slot_and_by_how_much():
    suggestion = suggest_slot(ten_of_ten_evenings(), "09-12", NAMES)
    assert suggestion is not None
    assert suggestion.slot == "18-21"
    assert suggestion.chance == pytest.approx(12 / 14)
    assert suggestion.her_slot_chance == pytest.approx(2 / 14)
    assert suggestion.gain == pytest.approx(10 / 14)
    assert suggestion.probability > 0.99


@pytest.mark.parametrize("history,why", [
    ([], "no calls of hers"),
    (facts("09-12", 0, 3) + facts("18-21", 3, 3), "too few calls (under 5 per slot)"),
    (facts("09-12", 0, 3) + facts("18-21", 10, 10), "too few calls in her own slot"),
    (facts("09-12", 2, 5) + facts("18-21", 3, 5), "3/5 against 2/5 is not strong enough"),
    (facts("09-12", 5, 5) + facts("18-21", 0, 5), "her own slot is the better one"),
])
def test_weak_evidence_suggests_nothing(history, why):
    assert suggest_slot(answer_pattern(history, flat_prior()), "09-12", NAMES) is None, why


def test_the_population_alone_never_suggests_a_slot():
    prior = Prior({("09-12", None): 0.1, ("18-21", None): 0.9}, strength=50)
    assert suggest_slot(answer_pattern(facts("09-12", 0, 5), prior), "09-12",
                        ["09-12", "18-21"]) is None


def test_the_probability_of_beating_matches_the_closed_form():
    # X ~ Beta(1, 1) (uniform), Y ~ Beta(1, 2): P(Y < x) = 1 - (1 - x)^2 = 2x - x^2,
    # so P(X > Y) = integral_0^1 (2x - x^2) dx = 1 - 1/3 = 2/3.
    assert probability_better(estimate(0, 0, 1, 1), estimate(0, 0, 1, 2)) == \
        pytest.approx(2 / 3, abs=1e-12)
    # her calls on top of the priors: X ~ Beta(1 + 1, 1), Y ~ Beta(1, 1 + 1): 1 - 1/6
    assert probability_better(estimate(1, 1, 1, 1), estimate(1, 0, 1, 1)) == \
        pytest.approx(5 / 6, abs=1e-12)


def test_the_other_slots_compared_raise_the_bar_bonferroni():
    """P(18-21 beats 09-12) lies between 1 - 0.1 and 1 - 0.1 / 3: suggested when 18-21 is
    the only other slot with 5+ calls, not when two more slots were compared (each with
    5+ calls, worse than 18-21)."""
    prior = flat_prior()
    alone = facts("09-12", 1, 6) + facts("18-21", 5, 7)
    p = probability_better(answer_pattern(alone, prior).of("18-21"),
                           answer_pattern(alone, prior).of("09-12"))
    assert 0.9 <= p < 1 - 0.1 / 3
    assert suggest_slot(answer_pattern(alone, prior), "09-12", NAMES, confidence=0.9) \
        is not None
    three = alone + facts("12-15", 2, 5) + facts("15-18", 2, 5)
    assert suggest_slot(answer_pattern(three, prior), "09-12", NAMES, confidence=0.9) is None


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5])
def test_a_confidence_outside_0_1_is_refused(confidence):
    with pytest.raises(SchedulerError, match="confidence"):
        suggest_slot(ten_of_ten_evenings(), "09-12", NAMES, confidence=confidence)


def test_a_suggestion_from_a_weekday_pattern_sums_her_week():
    history = [CallFact("18-21", d, True) for d in range(7)] \
        + [CallFact("09-12", d, False) for d in range(7)]
    pattern = answer_pattern(history, Prior({(n, d): 0.5 for n in NAMES for d in range(7)},
                                            strength=2, by_weekday=True))
    suggestion = suggest_slot(pattern, "09-12", NAMES)
    assert suggestion is not None and suggestion.slot == "18-21"
    assert suggestion.chance == pytest.approx((1 + 7) / (2 + 7))


# --- properties --------------------------------------------------------------------------

FAST = settings(max_examples=200, deadline=None)
rates = st.floats(0.01, 0.99)
strengths = st.floats(0.1, 100)
histories = st.lists(st.builds(CallFact, st.sampled_from(NAMES), st.integers(0, 6),
                               st.booleans()), max_size=60)


@FAST
@given(rates, strengths, histories)
def test_the_posterior_mean_is_a_probability(rate, strength, history):
    pattern = answer_pattern(history, flat_prior(rate, strength))
    for name in NAMES:
        e = pattern.of(name)
        assert 0.0 <= e.mean <= 1.0 and e.sd >= 0.0


@FAST
@given(rates, strengths, st.integers(1, 30), st.data())
def test_more_calls_move_the_estimate_toward_her_own_rate(rate, strength, calls, data):
    answered = data.draw(st.integers(0, calls))
    own = answered / calls
    prior = flat_prior(rate, strength)
    means = [answer_pattern(facts("12-15", answered * r, calls * r), prior).of("12-15").mean
             for r in (1, 2, 4)]
    gaps = [abs(m - own) for m in means]
    assert gaps[0] + 1e-12 >= gaps[1] and gaps[1] + 1e-12 >= gaps[2]
    if abs(rate - own) > 1e-6:                   # a prior away from her rate: strictly closer
        assert gaps[0] > gaps[1] > gaps[2]
    lo, hi = sorted((rate, own))
    assert all(lo - 1e-12 <= m <= hi + 1e-12 for m in means)   # between prior and her rate


@FAST
@given(histories, st.lists(st.sampled_from(SLOTS), min_size=1, max_size=4, unique=True),
       st.sampled_from(list(Rule)), st.integers(0, 2 ** 32))
def test_the_chosen_slot_is_always_a_candidate(history, candidates, rule, seed):
    pattern = answer_pattern(history, flat_prior())
    chosen = choose_slot(pattern, candidates, WINDOW, random.Random(seed), rule=rule)
    assert chosen in candidates
