"""How often chance alone gets a woman a slot suggestion (scheduler/answer_model.py
`suggest_slot` with its defaults), on seeded populations where no woman truly prefers a
slot; and that a slot truly better is still found."""
import random

import pytest

from bench.slot_suggest_old import (
    SCREEN_MARGIN, best_other, drawn_probability, normal_probability_better,
)
from scheduler.answer_model import (
    SUGGEST_CONFIDENCE, SUGGEST_MIN_CALLS, pattern_of_counts, prior_of_counts,
    probability_better, suggest_slot,
)

SLOTS = ("09-12", "12-15", "15-18", "18-21")


def population(women: int, rate_of, most_calls: int, seed: int):
    """Each woman: 1-4 of the slots, 1-most_calls calls in each, answered with
    rate_of(slot); her own slot one of those. Returns (her slot, counts), the prior."""
    rnd = random.Random(seed)
    out, pooled = [], {}
    for _ in range(women):
        counts = {}
        for slot in rnd.sample(SLOTS, rnd.randint(1, 4)):
            calls = rnd.randint(1, most_calls)
            answered = sum(rnd.random() < rate_of(slot) for _ in range(calls))
            counts[(slot, None)] = (calls, answered)
            n, a = pooled.get((slot, None), (0, 0))
            pooled[(slot, None)] = (n + calls, a + answered)
        out.append((rnd.choice(sorted(counts))[0], counts))
    return out, prior_of_counts(pooled, SLOTS)


def eligible(her: str, counts: dict) -> bool:
    """min_calls calls in her slot and in at least one other: the rule can compare."""
    enough = [s for (s, _), (n, _) in counts.items() if n >= SUGGEST_MIN_CALLS]
    return her in enough and len(enough) > 1


def shares(women, prior, confidence=SUGGEST_CONFIDENCE) -> tuple[float, float]:
    """(suggested / eligible women, suggested / all women)."""
    found = sum(suggest_slot(pattern_of_counts(c, prior), her, SLOTS, confidence=confidence)
                is not None for her, c in women)
    return found / sum(eligible(her, c) for her, c in women), found / len(women)


@pytest.mark.parametrize("rate", [0.5, 0.2, 0.05])
@pytest.mark.parametrize("most_calls", [20, 60])
def test_with_no_slot_truly_better_under_1_percent_are_suggested(rate, most_calls):
    """The stated figure: at most 1 % of the eligible women (measured at seed 16:
    0.02-0.35 %; at confidence 0.9, 3-7.5 %)."""
    women, prior = population(10_000, lambda slot: rate, most_calls, seed=16)
    of_eligible, of_all = shares(women, prior)
    assert of_eligible <= 0.01
    assert of_all <= of_eligible


def test_without_the_strict_default_chance_passes_the_rule_more_often():
    """The bound is not vacuous: at confidence 0.9 the same null population passes the
    rule for more than 1 % of the eligible women."""
    women, prior = population(10_000, lambda slot: 0.5, 60, seed=16)
    loose = shares(women, prior, confidence=0.9)[0]
    assert loose > 0.01
    assert shares(women, prior)[0] < loose


def test_a_truly_better_slot_is_found_for_most_women_with_enough_calls():
    """Every woman answers 70 % in the evening, 30 % elsewhere; among the women whose slot
    is not the evening, with 10+ calls in hers and in the evening, most are suggested it."""
    women, prior = population(5_000, lambda slot: 0.7 if slot == "18-21" else 0.3, 20, seed=3)
    well_known = [(her, c) for her, c in women if her != "18-21"
                  and c[(her, None)][0] >= 10 and c.get(("18-21", None), (0, 0))[0] >= 10]
    found = [suggest_slot(pattern_of_counts(c, prior), her, SLOTS) for her, c in well_known]
    assert len(well_known) > 300
    assert sum(s is not None and s.slot == "18-21" for s in found) / len(well_known) > 0.5
    assert all(s is None or s.slot == "18-21" for s in found)


def test_the_exact_rule_lists_the_women_the_draws_listed_up_to_their_noise():
    """Before: P(better) from up to 4,000 paired draws seeded with her id, at 0.9 with no
    correction (bench/slot_suggest_old.py). The exact probability at the same 0.9 lists the
    same women but where the draws' noise decides: only women within 0.02 of 0.9 differ."""
    women, prior = population(800, lambda slot: 0.5, 20, seed=5)
    old, exact = set(), {}
    for sid, (her, counts) in enumerate(women):
        pattern = pattern_of_counts(counts, prior)
        pair = best_other(pattern, her, SLOTS, SUGGEST_MIN_CALLS)
        if pair is None:
            continue
        mine, best = pair
        exact[sid] = probability_better(best, mine)
        if normal_probability_better(best, mine) >= 0.9 - SCREEN_MARGIN and \
                drawn_probability(best, mine, random.Random(sid), 4000, 0.9) >= 0.9:
            old.add(sid)
    new = {sid for sid, p in exact.items() if p >= 0.9}
    assert len(old) > 20 and len(new) > 20
    assert all(abs(exact[sid] - 0.9) <= 0.02 for sid in old ^ new)
    assert len(old ^ new) <= 0.2 * len(old)
