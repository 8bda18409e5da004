"""Her answer pattern: the chance she answers a call in each slot, learned from her calls. Pure.

Input. One `CallFact` per call placed to her: the programme slot the call started in, the
weekday of her local date, and whether she answered. Slot names, not raw times: the
candidates of a later attempt are the programme's slots, so the model learns exactly what
it chooses between, and the time zone and the slot boundaries stay in scheduler/slots.py
(`fact_of` turns an attempt's start time and outcome into a fact, or None when the call
started outside every slot or its outcome says nothing of her: congestion, a failure of
ours, an invalid number).

Model. Per slot (or per slot and weekday when the prior is built `by_weekday`) a
Beta-Binomial: the population's answer rate m in that cell, worth k pseudo-calls (the
prior's `strength`), is the prior Beta(k m, k (1 - m)); after n calls of hers there, a of
them answered, the posterior is Beta(k m + a, k (1 - m) + n - a), whose mean
(k m + a) / (k + n) moves from the population's rate to her own as her calls accumulate.
A woman with no calls gets the population's figures. `population_prior` pools many women's
calls per cell (every call weighs the same) with one pseudo-answer and one pseudo-miss per
cell, so a cell nobody was called in gets 0.5 and no rate is exactly 0 or 1.

Choice of the slot of a later attempt of a message (her first attempt of a message always
stays in her chosen slot; the caller does that). Default: Thompson sampling, one draw from
each candidate slot's posterior with the rng passed in, the highest draw wins. Why the
default: it tries a slot in proportion to the chance that slot is her best, so it keeps
learning where her history is short and settles where it is long, with no constant to tune;
it is known to do as well as the best index rules on Bernoulli bandits (Chapelle and Li
2011; Kaufmann et al. 2012); and being random it spreads a population's retries over the
window instead of sending every retry to the same slot at once. The alternative,
`Rule.UPPER_CONFIDENCE`, picks the highest posterior mean plus `z` posterior standard
deviations: deterministic, for a caller that wants no randomness. Only the candidates the
caller passes can be chosen, and each must lie inside the programme's window (SchedulerError
otherwise).

Suggestion (`suggest_slot`, for the call centre to confirm with her; a slot is never changed
without her say): of the m other slots where she has at least `min_calls` calls (and at
least `min_calls` in her own), the one with the highest posterior mean, when the posterior
probability that it beats her slot is at least 1 - (1 - `confidence`) / m (a Bonferroni
correction over the slots compared). The probability is exact (scheduler/beta_compare.py:
an integral at the priors, then one exact step per call; no draws), so the same counts
always give the same list, at about 50 microseconds a woman. Chance alone: with no woman
truly preferring a slot, the share of eligible women suggested tends to at most
1 - `confidence` as her calls grow (the posterior probability of the best of m slots then
behaves like a one-sided test at (1 - confidence) / m each); the shrinkage toward the
population keeps it lower with few calls. With the defaults (0.99, 5 calls) it is under
1 %: tests/scheduler/test_slot_suggestion_chance.py measures it on seeded populations.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from zoneinfo import ZoneInfo

from scheduler.beta_compare import probability_greater
from scheduler.model import SchedulerError
from scheduler.outcome import Outcome
from scheduler.slots import TimeSlot

# Outcomes that say whether she could answer at that time. Congestion, our failures and an
# invalid number say nothing of her and are left out.
EVIDENCE = frozenset({Outcome.ANSWERED, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.REJECTED,
                      Outcome.UNREACHABLE})

# A prior worth 10 pseudo-calls: her own calls in a slot weigh as much as the population's
# figure once she has had about one message's retries there (up to 9 attempts).
DEFAULT_STRENGTH = 10.0

Cell = tuple[str, int | None]     # (slot name, weekday 0=Monday..6) or (slot name, None)


@dataclass(frozen=True)
class CallFact:
    slot: str          # the programme slot the call started in
    weekday: int       # of her local date, 0 = Monday .. 6 = Sunday
    answered: bool


def fact_of(started_at: datetime, outcome: Outcome, slots: Sequence[TimeSlot],
            tz: ZoneInfo) -> CallFact | None:
    """The fact one attempt adds to her history, or None (outside every slot, or an outcome
    that says nothing of her)."""
    if outcome not in EVIDENCE:
        return None
    local = started_at.astimezone(tz)
    for slot in slots:
        if slot.contains(local.time()):
            return CallFact(slot.name, local.weekday(), outcome.answered)
    return None


@dataclass(frozen=True)
class SlotEstimate:
    """Her calls in one cell and the prior they update: a Beta posterior."""
    calls: int
    answered: int
    prior_alpha: float
    prior_beta: float

    @property
    def alpha(self) -> float:
        return self.prior_alpha + self.answered

    @property
    def beta(self) -> float:
        return self.prior_beta + self.calls - self.answered

    @property
    def mean(self) -> float:
        """Her chance to answer: (k m + a) / (k + n)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def sd(self) -> float:
        a, b = self.alpha, self.beta
        return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))

    def draw(self, rng: random.Random) -> float:
        return rng.betavariate(self.alpha, self.beta)


@dataclass(frozen=True)
class Prior:
    """The population's answer rate per cell, worth `strength` pseudo-calls."""
    rates: Mapping[Cell, float]
    strength: float
    by_weekday: bool = False

    def __post_init__(self) -> None:
        if not self.strength > 0:
            raise SchedulerError(f"the prior's strength must be > 0 pseudo-calls, "
                                 f"got {self.strength}")
        bad = {c: r for c, r in self.rates.items() if not 0.0 < r < 1.0}
        if bad:
            raise SchedulerError(f"prior answer rates must lie strictly between 0 and 1: {bad}")

    def cell(self, slot: str, weekday: int | None) -> Cell:
        return (slot, weekday if self.by_weekday else None)

    def estimate(self, cell: Cell, calls: int = 0, answered: int = 0) -> SlotEstimate:
        try:
            rate = self.rates[cell]
        except KeyError:
            raise SchedulerError(f"the prior has no answer rate for slot {cell[0]!r}"
                                 + (f" on weekday {cell[1]}" if cell[1] is not None else "")
                                 ) from None
        return SlotEstimate(calls, answered, self.strength * rate, self.strength * (1 - rate))


def _cells(slots: Iterable[str], by_weekday: bool) -> list[Cell]:
    days: tuple[int | None, ...] = tuple(range(7)) if by_weekday else (None,)
    return [(s, d) for s in slots for d in days]


def _counts(facts: Iterable[CallFact], by_weekday: bool) -> dict[Cell, tuple[int, int]]:
    counts: dict[Cell, tuple[int, int]] = {}
    for f in facts:
        cell = (f.slot, f.weekday if by_weekday else None)
        n, a = counts.get(cell, (0, 0))
        counts[cell] = (n + 1, a + f.answered)
    return counts


def population_prior(histories: Iterable[Iterable[CallFact]], slots: Sequence[str],
                     strength: float = DEFAULT_STRENGTH, by_weekday: bool = False) -> Prior:
    """The prior from many women's calls: per cell (answered + 1) / (calls + 2), pooled."""
    return prior_of_counts(_counts((f for h in histories for f in h), by_weekday), slots,
                           strength, by_weekday)


def prior_of_counts(pooled: Mapping[Cell, tuple[int, int]], slots: Sequence[str],
                    strength: float = DEFAULT_STRENGTH, by_weekday: bool = False) -> Prior:
    """population_prior from pooled (calls, answered) per cell, for a caller that keeps
    running counts instead of every call."""
    rates = {}
    for cell in _cells(slots, by_weekday):
        n, a = pooled.get(cell, (0, 0))
        rates[cell] = (a + 1) / (n + 2)
    return Prior(rates, strength, by_weekday)


@dataclass(frozen=True)
class AnswerPattern:
    """Her posterior per cell (every cell of the prior, with or without calls of hers)."""
    cells: Mapping[Cell, SlotEstimate]
    by_weekday: bool

    def of(self, slot: str, weekday: int | None = None) -> SlotEstimate:
        if self.by_weekday and weekday is None:
            raise SchedulerError("this answer pattern is per weekday: give the weekday")
        cell = (slot, weekday if self.by_weekday else None)
        try:
            return self.cells[cell]
        except KeyError:
            raise SchedulerError(f"her answer pattern has no slot {slot!r}") from None


def answer_pattern(facts: Iterable[CallFact], prior: Prior) -> AnswerPattern:
    """Her posterior in every cell of the prior. Calls in a slot the prior does not know
    (a slot since removed from the programme) are ignored."""
    return pattern_of_counts(_counts(facts, prior.by_weekday), prior)


def pattern_of_counts(counts: Mapping[Cell, tuple[int, int]], prior: Prior) -> AnswerPattern:
    """answer_pattern from her (calls, answered) per cell, for a caller that keeps running
    counts instead of every call."""
    cells = {cell: prior.estimate(cell, *counts.get(cell, (0, 0))) for cell in prior.rates}
    return AnswerPattern(cells, prior.by_weekday)


class Rule(str, Enum):
    THOMPSON = "thompson"
    UPPER_CONFIDENCE = "upper_confidence"


def check_inside(candidates: Sequence[TimeSlot], window: TimeSlot) -> None:
    """SchedulerError unless there are candidates and each lies inside the window."""
    if not candidates:
        raise SchedulerError("no candidate slot for a later attempt")
    outside = [c for c in candidates if c.start < window.start or c.end > window.end]
    if outside:
        raise SchedulerError(
            "candidate slots outside the programme's window " + window.text + ": "
            + ", ".join(f"{c.name} ({c.text})" for c in outside))


def choose_slot(pattern: AnswerPattern, candidates: Sequence[TimeSlot], window: TimeSlot,
                rng: random.Random, weekday: int | None = None,
                rule: Rule = Rule.THOMPSON, z: float = 1.0) -> TimeSlot:
    """The slot of a later attempt of a message: one of the candidates, all inside the window.
    Ties go to the earlier candidate."""
    check_inside(candidates, window)
    estimates = [pattern.of(c.name, weekday) for c in candidates]
    if rule is Rule.THOMPSON:
        scores = [e.draw(rng) for e in estimates]
    else:
        scores = [e.mean + z * e.sd for e in estimates]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    return candidates[best]


def slot_for_attempt(number: int, her_slot: TimeSlot, pattern: AnswerPattern,
                     candidates: Sequence[TimeSlot], window: TimeSlot, rng: random.Random,
                     weekday: int | None = None, rule: Rule = Rule.THOMPSON) -> TimeSlot:
    """Attempt `number` (1..) of a message: the first in her chosen slot, later ones learned."""
    if number <= 1:
        return her_slot
    return choose_slot(pattern, candidates, window, rng, weekday, rule)


SUGGEST_CONFIDENCE = 0.99   # over the other slots compared (Bonferroni); see suggest_slot
SUGGEST_MIN_CALLS = 5


@dataclass(frozen=True)
class Suggestion:
    slot: str                # the slot that suits her better
    chance: float            # her chance to answer there (posterior mean)
    her_slot_chance: float   # her chance in her chosen slot
    probability: float       # posterior probability that `slot` beats her chosen slot

    @property
    def gain(self) -> float:
        """How much more likely she answers there, in points of probability."""
        return self.chance - self.her_slot_chance


def probability_better(better: SlotEstimate, than: SlotEstimate) -> float:
    """P(X > Y) for X, Y from the two posteriors, exactly (scheduler/beta_compare.py)."""
    return probability_greater((better.prior_alpha, better.prior_beta),
                               (better.calls, better.answered),
                               (than.prior_alpha, than.prior_beta), (than.calls, than.answered))


def suggest_slot(pattern: AnswerPattern, her_slot: str, others: Sequence[str],
                 confidence: float = SUGGEST_CONFIDENCE,
                 min_calls: int = SUGGEST_MIN_CALLS) -> Suggestion | None:
    """Another slot that suits her better, or None when her answers do not say so strongly
    enough. Per slot (a per-weekday pattern is summed over the week first). The m other
    slots with min_calls calls are compared at once: the best of them (highest posterior
    mean) is suggested when P(it beats hers) >= 1 - (1 - confidence) / m (Bonferroni)."""
    if not 0.0 < confidence < 1.0:
        raise SchedulerError(f"the confidence must lie strictly between 0 and 1, "
                             f"got {confidence}")
    mine = _per_slot(pattern, her_slot)
    choices = [(name, _per_slot(pattern, name)) for name in others if name != her_slot]
    choices = [(n, e) for n, e in choices if e.calls >= min_calls]
    if mine.calls < min_calls or not choices:
        return None
    name, best = max(choices, key=lambda ne: ne[1].mean)
    if best.mean <= mine.mean:
        return None
    p = probability_better(best, mine)
    needed = 1.0 - (1.0 - confidence) / len(choices)
    return Suggestion(name, best.mean, mine.mean, p) if p >= needed else None


def _per_slot(pattern: AnswerPattern, slot: str) -> SlotEstimate:
    """One slot's estimate over the whole week. For a per-weekday pattern: her calls summed
    and the prior averaged over the weekdays (its strength kept)."""
    if not pattern.by_weekday:
        return pattern.of(slot)
    days = [pattern.of(slot, d) for d in range(7)]
    return SlotEstimate(sum(e.calls for e in days), sum(e.answered for e in days),
                        sum(e.prior_alpha for e in days) / 7, sum(e.prior_beta for e in days) / 7)
