"""The slot suggestion before the exact rule, kept for the side-by-side benchmark only
(bench/slot_answers_bench.py --suggest-only): P(better) from up to 4,000 paired Beta draws
seeded with her id, behind a normal-approximation screen, at P >= 0.9 with no correction
over the slots compared (scheduler/answer_model.py at afbbacd). Also the exact rule at the
same 0.9 with no correction, to show the two list the same women up to the draws' noise."""
from __future__ import annotations

import math
import random
from itertools import groupby

from ivr.adapters import slot_answers
from ivr.adapters.store import Store
from scheduler.answer_model import (
    SlotEstimate, _per_slot, pattern_of_counts, probability_better as exact_probability,
)
from scheduler.programme import Programme

SCREEN_MARGIN, DRAW_BATCH, DRAWS, CONFIDENCE = 0.2, 250, 4000, 0.9


def normal_probability_better(better: SlotEstimate, than: SlotEstimate) -> float:
    spread = math.sqrt(better.sd ** 2 + than.sd ** 2)
    return 0.5 * (1 + math.erf((better.mean - than.mean) / (spread * math.sqrt(2))))


def drawn_probability(better: SlotEstimate, than: SlotEstimate, rng: random.Random,
                      draws: int, decide_at: float) -> float:
    wins = done = 0
    while done < draws:
        n = min(DRAW_BATCH, draws - done)
        wins += sum(better.draw(rng) > than.draw(rng) for _ in range(n))
        done += n
        share = wins / done
        if abs(share - decide_at) > 4 * math.sqrt(max(share * (1 - share), 1 / done) / done):
            break
    return wins / done


def best_other(pattern, her_slot: str, names, min_calls: int):
    mine = _per_slot(pattern, her_slot)
    choices = [(n, _per_slot(pattern, n)) for n in names if n != her_slot]
    choices = [(n, e) for n, e in choices if e.calls >= min_calls]
    if mine.calls < min_calls or not choices:
        return None
    name, best = max(choices, key=lambda ne: ne[1].mean)
    return None if best.mean <= mine.mean else (mine, best)


async def women_with_counts(store: Store, programme: Programme, min_calls: int):
    names = slot_answers.slot_names(programme)
    prior = await slot_answers.population_prior(store, programme)
    rows = await slot_answers.suggestion_rows(store, min_calls)
    for sub_id, group in groupby(rows, key=lambda r: r[0]):
        mine = list(group)
        if mine[0]["her_slot"] in names:
            yield sub_id, mine[0]["her_slot"], names, pattern_of_counts(
                {(r["slot"], None): (int(r["calls"]), int(r["answered"])) for r in mine}, prior)


async def old_suggested(store: Store, programme: Programme, min_calls: int = 5) -> set[int]:
    """The women the Monte Carlo rule listed (the same query as ivr women suggest-slots)."""
    out = set()
    async for sub_id, her, names, pattern in women_with_counts(store, programme, min_calls):
        pair = best_other(pattern, her, names, min_calls)
        if pair is None or normal_probability_better(pair[1], pair[0]) < \
                CONFIDENCE - SCREEN_MARGIN:
            continue
        if drawn_probability(pair[1], pair[0], random.Random(sub_id), DRAWS,
                             CONFIDENCE) >= CONFIDENCE:
            out.add(sub_id)
    return out


async def exact_probabilities(store: Store, programme: Programme,
                              min_calls: int = 5) -> dict[int, float]:
    """Per woman the rule can compare: the exact P(her best other slot beats hers)."""
    out = {}
    async for sub_id, her, names, pattern in women_with_counts(store, programme, min_calls):
        pair = best_other(pattern, her, names, min_calls)
        if pair is not None:
            out[sub_id] = exact_probability(pair[1], pair[0])
    return out
