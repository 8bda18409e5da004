"""The call centre's weekly outreach, simulated: whom to call first, compared by policy. Pure.

A population of women, each with a true two-state weekly engagement chain (engaging or
not, scheduler/outreach.py's `Chain`), drawn from a few hidden kinds (`DEFAULT_KINDS`,
stated below). A live call in week t changes her chance to be engaging in week t+1 from
`chain.engage[PASSIVE][s]` to `chain.engage[ACTIVE][s]` (s: her state in week t).

Each week the policy picks at most `capacity` women from what the programme would know
(her past weeks, whom the call centre called, her state this week), the calls happen,
and every state moves. Policies:
  none     nobody is called;
  random   `capacity` women at random;
  at-risk  rank_at_risk (the programme's at-risk rule) over Engagement facts folded from her
           weeks, a proxy: an engaging week is one answered call heard in full, a week not
           engaging one unanswered call (so at risk = 3 weeks in a row not engaging);
  whittle  estimate() the chains from every woman's weeks so far, then rank() by the
           Whittle index (scheduler/outreach.py) for the run's `objective`: "drops" (the
           default: reward a week that is not a drop) or "engaged" (reward an engaging week).
  oracle   (a ceiling for the bench, not a policy the programme can run: `CEILINGS`) rank by
           the index of each woman's TRUE chain, for the objective.
Before the measured weeks, `history_weeks` weeks are lived with `capacity` calls a week
at random (the call centre before targeting), the same for every policy: the estimate
needs calls to learn from. Every woman-week's chance is compared with one uniform draw
fixed by the seed, so two policies on one seed meet the same population and the same luck
(common random numbers); only the calls differ.

Figures over the measured weeks: `engagement_drops` (engaging one week, not the next),
`engaged_weeks` (woman-weeks engaging after a measured week's calls), `calls`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from scheduler.engagement import Engagement, after_call
from scheduler.model import SchedulerError
from scheduler.outcome import Outcome
from scheduler.outreach import (ACTIVE, DEFAULT_OBJECTIVE, OBJECTIVES, PASSIVE, Chain, Week,
                                estimate, rank, rank_at_risk, whittle_index)
from scheduler.policy import AtRiskRule

POLICIES = ("none", "random", "at-risk", "whittle")
CEILINGS = ("oracle",)
_START = datetime(2026, 1, 5, tzinfo=timezone.utc)    # the weeks' dates, for the at-risk rule
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Kind:
    """A hidden kind of woman: her share of the population and her true chain."""
    name: str
    share: float
    chain: Chain


# engage[a][s]: (from not engaging, from engaging), passive then active.
DEFAULT_KINDS = (
    # listens most weeks; a call changes little
    Kind("steady", 0.40, Chain(((0.50, 0.95), (0.60, 0.97)))),
    # drifts in and out; a call helps much (+0.40 from not engaging, +0.30 from engaging)
    Kind("wavering", 0.35, Chain(((0.20, 0.60), (0.60, 0.90)))),
    # has mostly stopped listening; a call helps little (+0.05, +0.10)
    Kind("lapsing", 0.25, Chain(((0.05, 0.40), (0.10, 0.50)))),
)


@dataclass(frozen=True)
class OutreachPopulation:
    women: int = 1000
    kinds: tuple[Kind, ...] = DEFAULT_KINDS
    history_weeks: int = 8      # weeks before the measured ones, random calls at capacity

    def __post_init__(self) -> None:
        if self.women < 1 or self.history_weeks < 1 or not self.kinds:
            raise SchedulerError("an outreach population needs women, kinds and a week of history")
        if any(k.share < 0 for k in self.kinds) or sum(k.share for k in self.kinds) <= 0:
            raise SchedulerError("the kinds' shares must be at least 0 and not all 0")


@dataclass(frozen=True)
class OutreachResult:
    policy: str
    capacity: int
    weeks: int
    women: int
    engagement_drops: int
    engaged_weeks: int
    calls: int
    max_calls_in_a_week: int
    objective: str = DEFAULT_OBJECTIVE

    @property
    def summary(self) -> dict[str, object]:
        """The JSON's figures; `objective` only where it changes the policy (whittle, oracle)."""
        ranked = self.policy in ("whittle", *CEILINGS)
        objective = {"objective": self.objective} if ranked else {}
        return {"outreach": self.policy, **objective, "capacity": self.capacity,
                "weeks": self.weeks,
                "women": self.women, "engagement_drops": self.engagement_drops,
                "engaged_weeks": self.engaged_weeks, "calls": self.calls,
                "max_calls_in_a_week": self.max_calls_in_a_week}


def stationary_engaging(chain: Chain) -> float:
    """Her long-run share of engaging weeks if never called."""
    p0, p1 = chain.engage[0]
    leave = p0 + (1.0 - p1)
    return p0 / leave if leave > 0 else 0.5


def _fold(eng: Engagement, engaging: bool, week: int, rule: AtRiskRule) -> Engagement:
    """The at-risk proxy: a week is one call, answered and heard in full iff she was engaging."""
    outcome = Outcome.ANSWERED if engaging else Outcome.NO_ANSWER
    return after_call(eng, rule, outcome, 1.0 if engaging else None, _START + week * _WEEK)


class _Run:
    """One simulation's state: the population, its draws and every woman's weeks so far."""

    def __init__(self, population: OutreachPopulation, capacity: int, rng: random.Random,
                 total_weeks: int, objective: str = DEFAULT_OBJECTIVE) -> None:
        n = population.women
        self.capacity = capacity
        self.objective = objective
        self.chains = [k.chain for k in rng.choices(
            population.kinds, weights=[k.share for k in population.kinds], k=n)]
        self.engaging = [rng.random() < stationary_engaging(c) for c in self.chains]
        self.draws = [[rng.random() for _ in range(total_weeks)] for _ in range(n)]
        self.chooser = random.Random(rng.getrandbits(64))
        self.histories: list[list[Week]] = [[] for _ in range(n)]
        self.rule = AtRiskRule()
        self.engagements = [Engagement() for _ in range(n)]

    def choose(self, policy: str, week: int) -> set[int]:
        n, k = len(self.chains), min(self.capacity, len(self.chains))
        if policy == "none" or k == 0:
            return set()
        if policy == "random":
            return set(self.chooser.sample(range(n), k))
        if policy == "at-risk":
            now = _START + (week + 1) * _WEEK             # the end of this week
            return set(rank_at_risk(dict(enumerate(self.engagements)), self.rule, now, k))
        if policy == "oracle":
            return self._oracle(k)
        # whittle: this week's state is known, this week's call is not yet made
        current = {i: [*h, Week(self.engaging[i])] for i, h in enumerate(self.histories)}
        picks = rank(current, estimate(current), k, objective=self.objective)
        return {p.subscriber_id for p in picks}

    def _oracle(self, k: int) -> set[int]:
        """The top k by the index of each woman's true chain in her state (a ceiling)."""
        index: dict[tuple[Chain, int], float] = {}
        scored = []
        for i, chain in enumerate(self.chains):
            state = int(self.engaging[i])
            if (chain, state) not in index:
                index[chain, state] = whittle_index(chain, state, objective=self.objective)
            if index[chain, state] > 0.0 and chain.effect(state) > 0.0:
                scored.append((-index[chain, state], i))
        return {i for _, i in sorted(scored)[:k]}

    def step(self, week: int, called: set[int]) -> tuple[int, int]:
        """Make the calls, move every state; the week's drops and engaged women next week."""
        drops = engaged = 0
        for i, chain in enumerate(self.chains):
            now = self.engaging[i]
            self.histories[i].append(Week(now, i in called))
            self.engagements[i] = _fold(self.engagements[i], now, week, self.rule)
            action = ACTIVE if i in called else PASSIVE
            after = self.draws[i][week] < chain.engage[action][int(now)]
            drops += now and not after
            engaged += after
            self.engaging[i] = after
        return drops, engaged


def simulate_outreach(population: OutreachPopulation, policy: str, capacity: int, weeks: int,
                      rng: random.Random, objective: str = DEFAULT_OBJECTIVE) -> OutreachResult:
    """`weeks` measured weeks of outreach by `policy`, at most `capacity` calls a week."""
    if policy not in POLICIES + CEILINGS:
        raise SchedulerError(f"unknown outreach policy {policy!r}: one of {', '.join(POLICIES)}")
    if objective not in OBJECTIVES:
        raise SchedulerError(f"unknown objective {objective!r}: one of {', '.join(OBJECTIVES)}")
    if capacity < 0 or weeks < 1:
        raise SchedulerError(f"capacity must be >= 0 and weeks >= 1, not {capacity}, {weeks}")
    total = population.history_weeks + weeks
    run = _Run(population, capacity, rng, total, objective)
    drops = engaged = calls = most = 0
    for week in range(total):
        measured = week >= population.history_weeks
        called = run.choose(policy if measured else "random", week)
        if len(called) > capacity:
            raise SchedulerError(f"{policy} chose {len(called)} women, capacity {capacity}")
        d, e = run.step(week, called)
        if measured:
            drops, engaged, calls = drops + d, engaged + e, calls + len(called)
            most = max(most, len(called))
    return OutreachResult(policy, capacity, weeks, population.women, drops, engaged, calls, most,
                          objective)

