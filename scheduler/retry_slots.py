"""The slot of a message's next attempt, by the programme's retry_slots. Pure.

The first attempt of a message always goes in her chosen slot. Later attempts go:
- own: in her chosen slot (the default, as before);
- learned: to the slot `scheduler.answer_model.slot_for_attempt` picks from her answer
  pattern (her calls, shrunk toward the population's prior, split by whether a slot is
  hers: `Learner`, worth PRIOR_STRENGTH calls), among the programme's slots
  still reachable (`reachable`), all inside its window, by the upper-confidence rule
  (posterior mean + 1 sd). Why not the model's default, Thompson sampling: on the simulated
  population (bench/results/simulate.md) Thompson's exploration moved retries of women whose
  chosen slot suits them, and the upper-confidence rule needed fewer attempts per delivered
  message at every seed. Its cost: it explores only through the sd term, and women
  with the same slot and no history yet all retry in the same slot at once (channels are
  not limited in the simulation);
  With the programme's retry_slots_by_weekday, her pattern is per slot and weekday
  (`weekday_pattern`: each cell starts from her per-slot figure, worth WEEKDAY_STRENGTH
  calls) and the rule reads the cells of the weekday the attempt goes on (`reachable_on`:
  today's while today's slots are reachable, else tomorrow's). Off by default: measured on
  the simulated population with an away weekday per woman (bench/results/simulate.md);
- random: to a programme slot drawn at random (a comparator for `ivr simulate` only).
The draws come from the rng passed in. The retry rule (scheduler/retry.py) then puts the
attempt at the first instant of that slot allowed by the day's cap and the gap.

A later attempt may be claimed in any programme slot (not only hers) when retry_slots is not
own (`callable_slot`): the store keeps no note of the slot chosen, the delivery's
next_attempt_at carries it.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.answer_model import (AnswerPattern, CallFact, Cell, Prior, Rule, check_inside,
                                    fact_of, pattern_of_counts, prior_of_counts,
                                    slot_for_attempt)
from scheduler.model import Attempt, Delivery, SchedulerError, Subscriber
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import Programme
from scheduler.slots import TimeSlot
from scheduler.timeline import her_slot, her_zone


def next_slot(programme: Programme, own: TimeSlot, number: int, rng: random.Random,
              pattern: AnswerPattern | None = None,
              candidates: Sequence[TimeSlot] | None = None,
              weekday: int | None = None) -> TimeSlot:
    """The slot of attempt `number` (1..) of a message, among `candidates` (default: the
    programme's slots; see `reachable`). `pattern` (learned only): her answer pattern over
    the programme's slots (her calls and the population's prior); per weekday
    (`weekday_pattern`), the weekday of the attempt's day is needed."""
    mode = programme.retry.retry_slots
    if number <= 1 or mode is RetrySlots.OWN:
        return own
    among = programme.slots if candidates is None else tuple(candidates)
    if mode is RetrySlots.RANDOM:
        check_inside(among, programme.window)
        return rng.choice(among)
    if pattern is None:
        raise SchedulerError("retry_slots = learned needs her answer pattern")
    return slot_for_attempt(number, own, pattern, among, programme.window, rng,
                            weekday if pattern.by_weekday else None,
                            rule=Rule.UPPER_CONFIDENCE)


def reachable(programme: Programme, tz: ZoneInfo, attempts: int, outcome: Outcome,
              ended_at: datetime) -> tuple[TimeSlot, ...]:
    """The slots the next attempt may be chosen from after attempt `attempts` ended: while
    the day's cap (per_day) allows another attempt today, the slots still open today `gap`
    after the call ended (the same days of calling as own; a slot already gone today would
    put the attempt off to tomorrow); else, or when none is left today, all of them."""
    return reachable_on(programme, tz, attempts, outcome, ended_at)[0]


def reachable_on(programme: Programme, tz: ZoneInfo, attempts: int, outcome: Outcome,
                 ended_at: datetime) -> tuple[tuple[TimeSlot, ...], int]:
    """`reachable`, and the weekday (her local date, 0 = Monday) of the day the next attempt
    goes: today's when today's slots are reachable, else tomorrow's (scheduler/retry.py
    puts it at tomorrow's opening of the chosen slot)."""
    policy = programme.retry
    ended = ended_at.astimezone(tz)
    if attempts % policy.per_day != 0 and not outcome.answered:
        at = (ended_at + policy.gap(outcome)).astimezone(tz)
        if at.date() == ended.date():
            today = tuple(s for s in programme.slots if at.time() < s.end)
            if today:
                return today, ended.weekday()
    return programme.slots, (ended.date() + timedelta(days=1)).weekday()


# The prior of the retry rule is worth 4 pseudo-calls (answer_model's default is 10): with
# the prior split by her own slot, her own calls should outweigh it sooner. Measured on the
# simulated population (bench/results/simulate.md): attempts per delivered vs own -3.7 to
# -5.2 % at 4 against -3.3 to -4.4 % at 10 (seeds 1-5, where it was chosen), and at seeds 6
# and 7, not used to choose it, -5.0 / -3.7 % against -3.7 / -3.5 %.
PRIOR_STRENGTH = 4.0

Counts = dict[Cell, tuple[int, int]]


def add_fact(counts: Counts, fact: CallFact, by_weekday: bool = False) -> None:
    """Count one call in (calls, answered) per cell: per slot, or per slot and weekday."""
    cell = (fact.slot, fact.weekday if by_weekday else None)
    n, k = counts.get(cell, (0, 0))
    counts[cell] = (n + 1, k + fact.answered)


# Her weekday cells (retry_slots_by_weekday): each (slot, weekday) cell starts from her own
# per-slot chance (itself shrunk toward the population's), worth WEEKDAY_STRENGTH calls, so a
# weekday without calls of hers keeps her slot's figure and a few misses on one weekday move
# only that day. Measured against per slot alone: bench/results/simulate.md.
WEEKDAY_STRENGTH = 2.0


def weekday_pattern(slot_counts: Counts, day_counts: Counts, prior: Prior) -> AnswerPattern:
    """Her pattern per slot and weekday: `day_counts` (her calls per (slot, weekday)) over
    a prior per cell equal to her per-slot posterior mean (`slot_counts` over `prior`, a
    per-slot prior such as retry_prior's)."""
    per_slot = pattern_of_counts(slot_counts, prior)
    rates: dict[Cell, float] = {(slot, d): per_slot.of(slot).mean
                                for slot, _ in prior.rates for d in range(7)}
    return pattern_of_counts(day_counts, Prior(rates, WEEKDAY_STRENGTH, by_weekday=True))


def fact_of_call(programme: Programme, sub: Subscriber, a: Attempt,
                 outcome: Outcome) -> CallFact | None:
    """What her scheduled call adds to her answer pattern (answer_model.fact_of), or None."""
    return fact_of(a.claimed_at, outcome, programme.slots, her_zone(sub))


def retry_prior(pooled: Counts, in_own: Counts, outside_own: Counts, names: Sequence[str],
                own: str | None = None) -> Prior:
    """The prior of the retry rule, PRIOR_STRENGTH pseudo-calls. Without `own`: the
    population's calls per slot (`pooled`). Given her own slot's name, split: in her own slot,
    the population's rate of calls placed in the callee's own slot (`in_own`); in another,
    the rate of calls placed outside the callee's slot (`outside_own`). A woman's chosen slot
    says something of when she can answer (most choose one that suits them), and the
    population's calls measure how much: the retry leaves her slot once her own misses there
    outweigh it, not at her first miss. Every store applies this one rule."""
    if own is None:
        return prior_of_counts(pooled, names, PRIOR_STRENGTH)
    mine = prior_of_counts(in_own, names, PRIOR_STRENGTH)
    other = prior_of_counts(outside_own, names, PRIOR_STRENGTH)
    return Prior({c: (mine if c[0] == own else other).rates[c] for c in mine.rates},
                 mine.strength)


def slot_after_call(programme: Programme, sub: Subscriber, d: Delivery, outcome: Outcome,
                    ended_at: datetime, rng: random.Random,
                    pattern: AnswerPattern | None) -> TimeSlot | None:
    """The slot of the delivery's next attempt after the call that ended (its fact already
    in `pattern`, built on retry_prior with her own slot: learned only), or None:
    retry_slots is own, or the call delivered it (answered, with delivered_share 0). The one
    rule every store applies."""
    p = programme
    if p.retry.retry_slots is RetrySlots.OWN:
        return None
    if outcome.answered and p.retry.delivered_share <= 0:
        return None
    among, weekday = reachable_on(p, her_zone(sub), d.attempts, outcome, ended_at)
    return next_slot(p, her_slot(p, sub), d.attempts + 1, rng, pattern, among, weekday)


class Learner:
    """The in-memory store's side of retry_slots: each woman's calls per slot, the
    population's (pooled, and split by whether the call was in the callee's own slot), and
    the rng of the draws. `after_call` notes a scheduled call and chooses the slot of her
    message's next attempt (the SQL store keeps the same counts in a table:
    ivr/adapters/slot_answers.py)."""

    def __init__(self, programme: Programme, rng: random.Random):
        self.programme, self.rng = programme, rng
        self.names = [s.name for s in programme.slots]
        self.hers: dict[int, Counts] = {}
        self.hers_by_day: dict[int, Counts] = {}    # retry_slots_by_weekday only
        self.pooled: Counts = {}
        self.pooled_own: Counts = {}      # calls in the callee's slot
        self.pooled_other: Counts = {}    # calls outside it
        self._priors: dict[str | None, Prior] = {}

    def prior(self, own: str | None = None) -> Prior:
        """retry_prior over the calls noted so far."""
        if own not in self._priors:
            self._priors[own] = retry_prior(self.pooled, self.pooled_own, self.pooled_other,
                                            self.names, own)
        return self._priors[own]

    def pattern(self, sub_id: int, own: str | None = None) -> AnswerPattern:
        """Her pattern: per slot, or per slot and weekday when the programme asks."""
        if self.programme.retry.retry_slots_by_weekday and \
                self.programme.retry.retry_slots is RetrySlots.LEARNED:
            return weekday_pattern(self.hers.get(sub_id, {}), self.hers_by_day.get(sub_id, {}),
                                   self.prior(own))
        return pattern_of_counts(self.hers.get(sub_id, {}), self.prior(own))

    def after_call(self, sub: Subscriber, a: Attempt, d: Delivery, outcome: Outcome,
                   ended_at: datetime) -> TimeSlot | None:
        """The slot of the delivery's next attempt, or None (see slot_after_call)."""
        learned = self.programme.retry.retry_slots is RetrySlots.LEARNED
        fact = fact_of_call(self.programme, sub, a, outcome)
        if fact is not None and learned:
            split = self.pooled_own if fact.slot == sub.slot else self.pooled_other
            for counts in (self.hers.setdefault(sub.id, {}), self.pooled, split):
                add_fact(counts, fact)
            if self.programme.retry.retry_slots_by_weekday:
                add_fact(self.hers_by_day.setdefault(sub.id, {}), fact, by_weekday=True)
            self._priors.clear()
        own = her_slot(self.programme, sub).name
        return slot_after_call(self.programme, sub, d, outcome, ended_at, self.rng,
                               self.pattern(sub.id, own) if learned else None)


def callable_slot(programme: Programme, slot: TimeSlot, attempts: int, local: time) -> bool:
    """May a scheduled call whose message had `attempts` attempts be placed at this local
    time? In her slot always; in any programme slot for a later attempt when retry_slots is
    not own. Always inside the window."""
    if not programme.window.contains(local):
        return False
    if slot.contains(local):
        return True
    return attempts >= 1 and programme.retry.retry_slots is not RetrySlots.OWN and \
        any(s.contains(local) for s in programme.slots)


def slot_at(slots: Sequence[TimeSlot], local: time) -> TimeSlot | None:
    """The programme slot containing this local time, if any."""
    return next((s for s in slots if s.contains(local)), None)
