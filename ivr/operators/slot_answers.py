"""Her answer pattern for people (`ivr women show`) and the women whose answers say another
slot suits them better (`ivr women suggest-slots`): plain dicts ready to print, or dump as
JSON or CSV, phone numbers masked unless `reveal`. The counts are ivr/adapters/
slot_answers.py's; the estimates are scheduler/answer_model.py's (her calls shrunk toward
the population's, 10 pseudo-calls). Nothing here changes a woman: her slot changes only by
an operator or by her confirmed key."""
from __future__ import annotations

from itertools import groupby

from ivr.adapters import slot_answers
from ivr.adapters.store import Store
from ivr.operators.records import phone_out
from scheduler.answer_model import SUGGEST_CONFIDENCE, SUGGEST_MIN_CALLS, Prior, \
    pattern_of_counts, suggest_slot
from scheduler.programme import Programme

SUGGESTION_COLUMNS = ("id", "phone", "slot", "suggested", "chance_slot", "chance_suggested",
                      "calls_slot", "calls_suggested", "probability")
MIN_CALLS = SUGGEST_MIN_CALLS


def _chance(x: float) -> float:
    return round(x, 3)


async def answer_pattern(store: Store, programme: Programme, sub_id: int,
                         prior: Prior | None = None) -> list[dict]:
    """Per programme slot: her calls, how many she answered, and her chance to answer
    there (the posterior mean: the population's figure while her calls are few)."""
    prior = prior or await slot_answers.population_prior(store, programme)
    pattern = pattern_of_counts(await slot_answers.her_counts(store, sub_id), prior)
    return [{"slot": name, "calls": e.calls, "answered": e.answered, "chance": _chance(e.mean)}
            for name in slot_answers.slot_names(programme)
            for e in [pattern.of(name)]]


async def suggest_slots(store: Store, programme: Programme, *, min_calls: int = MIN_CALLS,
                        reveal: bool = False, only: bool = False) -> list[dict]:
    """The active women whose answers say another programme slot suits them better
    (answer_model.suggest_slot: min_calls calls in both slots, P(better) >= 0.99 over the
    other slots compared, exact), by woman id (only: the women of this programme, with
    several): the same store, the same list."""
    names = slot_answers.slot_names(programme)
    prior = await slot_answers.population_prior(store, programme)
    rows = await slot_answers.suggestion_rows(store, min_calls,
                                              programme.name if only else None)
    out = []
    for sub_id, group in groupby(rows, key=lambda r: r[0]):
        mine = list(group)
        her_slot = mine[0]["her_slot"]
        if her_slot not in names:
            continue            # a slot no longer in the programme
        pattern = pattern_of_counts({(r["slot"], None): (int(r["calls"]), int(r["answered"]))
                                     for r in mine}, prior)
        s = suggest_slot(pattern, her_slot, names, confidence=SUGGEST_CONFIDENCE,
                         min_calls=min_calls)
        if s is None:
            continue
        out.append({"id": sub_id, "phone": phone_out(mine[0]["phone"], reveal),
                    "slot": her_slot, "suggested": s.slot,
                    "chance_slot": _chance(s.her_slot_chance),
                    "chance_suggested": _chance(s.chance),
                    "calls_slot": pattern.of(her_slot).calls,
                    "calls_suggested": pattern.of(s.slot).calls,
                    "probability": _chance(s.probability)})
    return out
