"""Her answer pattern in the SQL store (SQLite and PostgreSQL): the slot_answers table
(migration 015), per woman and programme slot, her scheduled calls that said whether she
could answer then and how many she answered; slot_weekday_answers (migration 016) the same
per slot and weekday of her local date, written and read only while the programme's
retry_slots_by_weekday is on (the default release costs no more; her weekday cells start
from her per-slot figure, so a programme that turns it on loses nothing: the rule chooses
as per slot until her weekday calls come in).

Written at the end of every scheduled call, whatever the programme's retry_slots (so that
`ivr women show` and `ivr women suggest-slots` have her pattern under own too), in the
call's transaction: a crash loses nothing. Read by `SlotLearning.after_call` when
retry_slots is learned: her counts (one indexed read of a few rows) and the population's
prior, the counts summed per slot. The sums are cached per process and read again when
`refresh` has passed (by the calls' own times, no clock read): the prior
(scheduler/retry_slots.retry_prior: split by whether a call was in the callee's own slot) is
worth a few pseudo-calls and moves slowly, and a sum over every woman at each release, or a
shared row of totals written by every release (one hot row for every node on PostgreSQL),
would cost more than it is worth. bench/slot_answers_bench.py measures it. The rule is
scheduler/retry_slots.py's, the same the in-memory store applies.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from ivr.adapters.store import Store
from scheduler.answer_model import (AnswerPattern, CallFact, Cell, Prior, pattern_of_counts,
                                    prior_of_counts)
from scheduler.model import Attempt, Delivery, Subscriber
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import Programme
from scheduler.retry_slots import fact_of_call, retry_prior, slot_after_call, weekday_pattern
from scheduler.slots import TimeSlot
from scheduler.timeline import her_slot

PRIOR_REFRESH = timedelta(minutes=10)

Counts = dict[Cell, tuple[int, int]]


async def count_call(store: Store, sub_id: int, fact: CallFact, own: bool) -> None:
    """One more call of hers in the fact's slot (answered or not); `own`: the slot was her
    chosen one when the call was placed."""
    answered = 1 if fact.answered else 0
    mine = 1 if own else 0
    await store.execute(
        "INSERT INTO slot_answers (subscriber_id, slot, calls, answered, own_calls, "
        "own_answered) VALUES (?, ?, 1, ?, ?, ?) "
        "ON CONFLICT (subscriber_id, slot) DO UPDATE SET calls = slot_answers.calls + 1, "
        "answered = slot_answers.answered + excluded.answered, "
        "own_calls = slot_answers.own_calls + excluded.own_calls, "
        "own_answered = slot_answers.own_answered + excluded.own_answered",
        (sub_id, fact.slot, answered, mine, answered * mine))


async def count_call_on_weekday(store: Store, sub_id: int, fact: CallFact) -> None:
    """One more call of hers in the fact's slot and weekday (migration 016)."""
    await store.execute(
        "INSERT INTO slot_weekday_answers (subscriber_id, slot, weekday, calls, answered) "
        "VALUES (?, ?, ?, 1, ?) ON CONFLICT (subscriber_id, slot, weekday) DO UPDATE SET "
        "calls = slot_weekday_answers.calls + 1, "
        "answered = slot_weekday_answers.answered + excluded.answered",
        (sub_id, fact.slot, fact.weekday, 1 if fact.answered else 0))


async def her_weekday_counts(store: Store, sub_id: int) -> Counts:
    """Her (calls, answered) per slot and weekday."""
    rows = await store.fetchall(
        "SELECT slot, weekday, calls, answered FROM slot_weekday_answers "
        "WHERE subscriber_id = ?", (sub_id,))
    return {(r[0], int(r[1])): (int(r[2]), int(r[3])) for r in rows}


async def her_counts(store: Store, sub_id: int) -> Counts:
    """Her (calls, answered) per slot."""
    rows = await store.fetchall(
        "SELECT slot, calls, answered FROM slot_answers WHERE subscriber_id = ?", (sub_id,))
    return {(r[0], None): (int(r[1]), int(r[2])) for r in rows}


async def pooled_counts(store: Store) -> Counts:
    """Every woman's (calls, answered) summed per slot: the population's."""
    rows = await store.fetchall(
        "SELECT slot, SUM(calls), SUM(answered) FROM slot_answers GROUP BY slot")
    return {(r[0], None): (int(r[1]), int(r[2])) for r in rows}


async def split_counts(store: Store) -> tuple[Counts, Counts]:
    """The population's (calls, answered) per slot, split: calls placed in the callee's own
    slot (as it was then), and calls placed outside it (scheduler/retry_slots.retry_prior)."""
    rows = await store.fetchall(
        "SELECT slot, SUM(own_calls), SUM(own_answered), SUM(calls - own_calls), "
        "SUM(answered - own_answered) FROM slot_answers GROUP BY slot")
    in_own: Counts = {}
    outside: Counts = {}
    for r in rows:
        if int(r[1]):
            in_own[(r[0], None)] = (int(r[1]), int(r[2]))
        if int(r[3]):
            outside[(r[0], None)] = (int(r[3]), int(r[4]))
    return in_own, outside


def slot_names(programme: Programme) -> list[str]:
    return [s.name for s in programme.slots]


async def population_prior(store: Store, programme: Programme) -> Prior:
    return prior_of_counts(await pooled_counts(store), slot_names(programme))


class SlotLearning:
    """The SQL store's side of retry_slots (the in-memory store's is retry_slots.Learner):
    counts each scheduled call and chooses the slot of her message's next attempt. Holds
    only the cached prior. `refresh`: how old (in call time) the cached prior may be;
    timedelta(0) reads it at every call."""

    def __init__(self, programme: Programme, rng: random.Random,
                 refresh: timedelta = PRIOR_REFRESH):
        self.programme, self.rng, self.refresh = programme, rng, refresh
        self._counts: tuple[Counts, Counts] | None = None
        self._read_at: datetime | None = None

    async def prior(self, store: Store, now: datetime, own: str | None = None) -> Prior:
        """retry_prior over the population's calls as last read (again once `refresh` has
        passed); `own`: her own slot's name."""
        if self._counts is None or self._read_at is None or now < self._read_at or \
                now - self._read_at >= self.refresh:
            self._counts, self._read_at = await split_counts(store), now
        in_own, outside = self._counts
        pooled = {c: (in_own.get(c, (0, 0))[0] + outside.get(c, (0, 0))[0],
                      in_own.get(c, (0, 0))[1] + outside.get(c, (0, 0))[1])
                  for c in set(in_own) | set(outside)}
        return retry_prior(pooled, in_own, outside, slot_names(self.programme), own)

    @property
    def weekday_cells(self) -> bool:
        """Her cells per slot and weekday: learned with retry_slots_by_weekday on."""
        policy = self.programme.retry
        return policy.retry_slots is RetrySlots.LEARNED and policy.retry_slots_by_weekday

    async def pattern(self, store: Store, sub: Subscriber, now: datetime) -> AnswerPattern:
        """Her answer pattern as the learned rule sees it: her counts over the prior with her
        own slot (per slot and weekday when the programme asks: weekday_pattern)."""
        prior = await self.prior(store, now, her_slot(self.programme, sub).name)
        mine = await her_counts(store, sub.id)
        if self.weekday_cells:
            return weekday_pattern(mine, await her_weekday_counts(store, sub.id), prior)
        return pattern_of_counts(mine, prior)

    async def after_call(self, store: Store, sub: Subscriber, a: Attempt, d: Delivery,
                         outcome: Outcome, ended_at: datetime) -> TimeSlot | None:
        """Count the call; the slot of the delivery's next attempt, or None (her own)."""
        fact = fact_of_call(self.programme, sub, a, outcome)
        if fact is not None:
            await count_call(store, sub.id, fact, own=fact.slot == sub.slot)
            if self.weekday_cells:
                await count_call_on_weekday(store, sub.id, fact)
        mode = self.programme.retry.retry_slots
        if mode is RetrySlots.OWN:
            return None
        pattern = await self.pattern(store, sub, ended_at) if mode is RetrySlots.LEARNED \
            else None
        return slot_after_call(self.programme, sub, d, outcome, ended_at, self.rng, pattern)


async def suggestion_rows(store: Store, min_calls: int, programme: str | None = None) -> list:
    """The counts of the active women (of `programme`, if given) with at least `min_calls`
    calls in their own slot and in another: (subscriber_id, phone, her slot, slot, calls,
    answered), one statement for every woman, ordered by woman."""
    mine = "" if programme is None else " AND s.programme = ?"
    return await store.fetchall(
        "SELECT a.subscriber_id, s.phone, s.slot AS her_slot, a.slot, a.calls, a.answered "
        "FROM slot_answers a JOIN subscribers s ON s.id = a.subscriber_id "
        f"WHERE s.status = 'active'{mine} AND EXISTS (SELECT 1 FROM slot_answers h "
        " WHERE h.subscriber_id = a.subscriber_id AND h.slot = s.slot AND h.calls >= ?) "
        "AND EXISTS (SELECT 1 FROM slot_answers o WHERE o.subscriber_id = a.subscriber_id "
        " AND o.slot <> s.slot AND o.calls >= ?) "
        "ORDER BY a.subscriber_id, a.slot",
        (*([programme] if programme is not None else []), min_calls, min_calls))
