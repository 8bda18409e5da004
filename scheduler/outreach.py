"""Whom the call centre should call first: engagement chains and the Whittle index. Pure.

Each woman's weekly engagement is a two-state Markov chain: in a week she is *engaging*
(heard at least 30 s of a message that week) or not. A live call from the call centre in
week t (the action: active; no call: passive) changes the chance that she engages in
week t+1. `Chain` holds those chances for one group of similar women:

    engage[a][s] = P(engaging in week t+1 | state s in week t, action a in week t)

with s, a in {0, 1} (NOT_ENGAGING / ENGAGING, PASSIVE / ACTIVE); `Chain.matrix(a)` is the
full P[a][s][s'].

Estimation (`estimate`): every woman-week (t -> t+1) is one transition, counted in the
group of her history up to week t (`group_of`: her engagement rate over her last
`recent_weeks` weeks, bucketed low / mid / high, and whether she has `settled_after_weeks`
weeks yet). The group is read from her past only, so choosing a group never selects on the
transition it counts. The population's chances are Laplace-smoothed ((engaged + 1) /
(weeks + 2)); a group's chances are shrunk toward the population's by `prior_weeks`
pseudo-weeks (a Beta prior): (engaged + k * p_population) / (weeks + k).

The Whittle index (`whittle_index`) of a state, with discount `beta` < 1 and an
`objective` (`reward`): "drops" (the default: reward 1 for a week that is not a drop, a
drop being engaging this week and not the next; the field study's aim, the women most
likely to drop out) or "engaged" (reward 1 in an engaging week). The index is the subsidy
lambda for a passive week at which calling and not calling are equally good in that state.
Found by bisection on lambda, each step solving the 2-state Bellman equation exactly (the
value of each of the 4 deterministic policies by a 2x2 linear solve; the optimum is their
componentwise maximum). `closed_form_index` is the same index in closed form (derived in
its docstring), used to check the bisection.

Ranking (`rank`): each woman's current state (her last week) and her current group's
chain give her index (by the objective); the K highest with a positive index, ties by subscriber id.
`rank_at_risk` is the existing at-risk rule (scheduler/engagement.py) as a comparator.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping, Sequence

from scheduler.engagement import Engagement, at_risk, weeks_unanswered
from scheduler.model import SchedulerError
from scheduler.policy import AtRiskRule

NOT_ENGAGING, ENGAGING = 0, 1
PASSIVE, ACTIVE = 0, 1
ENGAGING_SECONDS = 30          # heard at least this much of a message in a week: engaging
DEFAULT_BETA = 0.9
OBJECTIVES = ("drops", "engaged")
DEFAULT_OBJECTIVE = "drops"

Pair = tuple[float, float]


def is_engaging(heard_seconds: Iterable[float]) -> bool:
    """Her state in a week, from the seconds she heard on that week's answered calls."""
    return any(h >= ENGAGING_SECONDS for h in heard_seconds)


@dataclass(frozen=True)
class Week:
    """One week of her history: whether she was engaging, and whether the call centre called."""
    engaging: bool
    called: bool = False


@dataclass(frozen=True)
class Chain:
    """engage[a][s]: her chance to be engaging next week, from state s, with action a."""
    engage: tuple[Pair, Pair]

    def __post_init__(self) -> None:
        if not all(0.0 <= p <= 1.0 for row in self.engage for p in row):
            raise SchedulerError(f"engagement chances must be in [0, 1]: {self.engage}")

    def matrix(self, action: int) -> tuple[Pair, Pair]:
        """P[action][s][s'] as rows (to not engaging, to engaging)."""
        p = self.engage[action]
        return (1.0 - p[0], p[0]), (1.0 - p[1], p[1])

    def effect(self, state: int) -> float:
        """How much a call raises her chance to be engaging next week, from this state."""
        return self.engage[ACTIVE][state] - self.engage[PASSIVE][state]


# -- the Whittle index ---------------------------------------------------------------

def _check_beta(beta: float) -> None:
    if not 0.0 < beta < 1.0:
        raise SchedulerError(f"the discount factor must be in (0, 1), not {beta}")


def reward(chain: Chain, action: int, state: int, objective: str = DEFAULT_OBJECTIVE) -> float:
    """Her expected reward for a week in `state` with `action`, by the objective.

    engaged: 1 if she is engaging this week (the action does not change this week's);
    drops: 1 unless she drops, i.e. 1 - [engaging] * P(not engaging next week | action).
    """
    if objective == "engaged":
        return float(state)
    if objective == "drops":
        return 1.0 - state * (1.0 - chain.engage[action][state])
    raise SchedulerError(f"unknown objective {objective!r}: one of {', '.join(OBJECTIVES)}")


def _policy_value(chain: Chain, policy: tuple[int, int], subsidy: float, beta: float,
                  objective: str) -> Pair:
    """V with V(s) = r(s, policy(s)) + subsidy*[policy(s) passive]
    + beta * sum_s' P[policy(s)][s][s'] V(s')."""
    r = [reward(chain, policy[s], s, objective) + (subsidy if policy[s] == PASSIVE else 0.0)
         for s in (0, 1)]
    q = [chain.engage[policy[s]][s] for s in (0, 1)]      # chance to go to ENGAGING
    # (1 - beta*(1-q0)) V0 - beta*q0 V1 = r0 ;  -beta*(1-q1) V0 + (1 - beta*q1) V1 = r1
    a, b = 1.0 - beta * (1.0 - q[0]), -beta * q[0]
    c, d = -beta * (1.0 - q[1]), 1.0 - beta * q[1]
    det = a * d - b * c                                   # >= (1-beta)^2 > 0
    return (r[0] * d - b * r[1]) / det, (a * r[1] - c * r[0]) / det


def optimal_value(chain: Chain, subsidy: float, beta: float,
                  objective: str = DEFAULT_OBJECTIVE) -> Pair:
    """The optimal value with a subsidy for passive weeks: the best of the 4 policies, per state."""
    values = [_policy_value(chain, (a0, a1), subsidy, beta, objective)
              for a0 in (0, 1) for a1 in (0, 1)]
    return max(v[0] for v in values), max(v[1] for v in values)


def _reward_gain(chain: Chain, state: int, objective: str) -> float:
    """How much a call raises this week's reward in `state`."""
    return reward(chain, ACTIVE, state, objective) - reward(chain, PASSIVE, state, objective)


def call_advantage(chain: Chain, state: int, subsidy: float, beta: float,
                   objective: str = DEFAULT_OBJECTIVE) -> float:
    """Q(state, active) - Q(state, passive) at this subsidy (positive: calling is better)."""
    v = optimal_value(chain, subsidy, beta, objective)
    return (_reward_gain(chain, state, objective) - subsidy
            + beta * chain.effect(state) * (v[ENGAGING] - v[NOT_ENGAGING]))


def whittle_index(chain: Chain, state: int, beta: float = DEFAULT_BETA,
                  tolerance: float = 1e-10, objective: str = DEFAULT_OBJECTIVE) -> float:
    """The subsidy at which calling and not calling are equally good in `state` (bisection).

    Rewards lie in [0, 1], so the index lies within +-1/(1-beta) (a week's reward gain at
    most 1, the future's at most beta/(1-beta)): the search starts there, where the sign
    of the call's advantage is known.
    """
    _check_beta(beta)
    reward(chain, PASSIVE, state, objective)              # refuses an unknown objective
    lo, hi = -1.0 / (1.0 - beta), 1.0 / (1.0 - beta)
    while hi - lo > tolerance:
        mid = (lo + hi) / 2.0
        if call_advantage(chain, state, mid, beta, objective) > 0.0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def closed_form_index(chain: Chain, state: int, beta: float = DEFAULT_BETA,
                      objective: str = DEFAULT_OBJECTIVE) -> float:
    """The Whittle index of a two-state chain in closed form.

    Write p_a(s) = engage[a][s], d(s) = p_1(s) - p_0(s) (the call's effect), r_a(s) the
    week's reward (`reward`), g(s) = r_1(s) - r_0(s) and D = V(1) - V(0). At the index
    lambda of s, calling and not in s are equally good: -lambda + g(s) + beta * d(s) * D
    = 0, so lambda = h_a(s) := g(s) + beta * d(s) * D_a, where a is the other state o's
    optimal action at lambda (s may take it too: it is indifferent). With both states on
    action a the subsidy, if any, is in both values and cancels in D:
        D_a = (r_a(1) - r_a(0)) / (1 - beta * (p_a(1) - p_a(0))).
    a is consistent iff o's advantage at lambda has the right sign: passive iff
    h_0(o) <= h_0(s), active iff h_1(o) > h_1(s); passive is tried first.
    engaged: r_a(s) = s, g = 0, D_a > 0, so o is passive iff d(s) >= d(o).
    drops: r_a(0) = 1, r_a(1) = p_a(1), g(0) = 0, g(1) = d(1), D_a = -(1 - p_a(1)) / (...)
    <= 0: being engaging risks a drop, and bringing a woman back is worth nothing by itself.
    """
    _check_beta(beta)
    other = 1 - state

    def h(s: int, a: int) -> float:
        p = chain.engage[a]
        d = ((reward(chain, a, ENGAGING, objective) - reward(chain, a, NOT_ENGAGING, objective))
             / (1.0 - beta * (p[ENGAGING] - p[NOT_ENGAGING])))
        return _reward_gain(chain, s, objective) + beta * chain.effect(s) * d

    if h(other, PASSIVE) <= h(state, PASSIVE):
        return h(state, PASSIVE)
    return h(state, ACTIVE)


# -- groups and estimation -------------------------------------------------------------

@dataclass(frozen=True)
class Grouping:
    """How women are grouped: their recent engagement rate, and whether they are settled."""
    recent_weeks: int = 4
    settled_after_weeks: int = 8

    def __post_init__(self) -> None:
        if self.recent_weeks < 1 or self.settled_after_weeks < 1:
            raise SchedulerError("recent_weeks and settled_after_weeks must be at least 1")


@dataclass(frozen=True, order=True)
class Group:
    recent: str        # low (< 1/3 of her recent weeks engaging), mid, high (>= 2/3)
    tenure: str        # new (fewer weeks than settled_after_weeks), settled

    def __str__(self) -> str:
        return f"{self.recent} recent engagement, {self.tenure}"


def group_of(history: Sequence[Week], grouping: Grouping = Grouping()) -> Group:
    """Her group from her history up to and including its last week (which must exist)."""
    if not history:
        raise SchedulerError("a group needs at least one week of her history")
    recent = history[-grouping.recent_weeks:]
    return _group(sum(1 for w in recent if w.engaging), len(recent), len(history), grouping)


def _group(engaged: int, recent: int, weeks: int, grouping: Grouping) -> Group:
    """`engaged` of her last `recent` weeks, `weeks` in all (engaged/recent against 1/3 and
    2/3 in integers: exact, no float edge)."""
    level = "low" if 3 * engaged < recent else "mid" if 3 * engaged < 2 * recent else "high"
    return Group(level, "settled" if weeks >= grouping.settled_after_weeks else "new")


@dataclass
class Counts:
    """Transitions counted per action and state: weeks, and of those, engaging the next week."""
    weeks: list[list[int]] = field(default_factory=lambda: [[0, 0], [0, 0]])
    engaged: list[list[int]] = field(default_factory=lambda: [[0, 0], [0, 0]])

    def add(self, before: Week, after: Week) -> None:
        a, s = int(before.called), int(before.engaging)
        self.weeks[a][s] += 1
        self.engaged[a][s] += int(after.engaging)


@dataclass(frozen=True)
class Model:
    """The estimated chains: the population's, and each group's (shrunk toward it)."""
    population: Chain
    groups: Mapping[Group, Chain]
    counts: Mapping[Group, Counts]
    grouping: Grouping

    def chain(self, group: Group) -> Chain:
        """A group's chain; a group never seen has the population's."""
        return self.groups.get(group, self.population)


def _chain(rows: list[list[float]]) -> Chain:
    return Chain(((rows[0][0], rows[0][1]), (rows[1][0], rows[1][1])))


def estimate(histories: Mapping[int, Sequence[Week]], grouping: Grouping = Grouping(),
             prior_weeks: float = 8.0) -> Model:
    """The chains from weekly histories (subscriber id -> her weeks, oldest first).

    Each transition is tallied under a small key of integers (her engaging weeks among the
    last n, n, settled or not, called, engaging, engaging next week); keys become groups and
    counts once at the end, so the loop over 500,000 transitions makes no object per step
    (a profile found Group and Counts made per transition were nearly all of the time)."""
    if prior_weeks <= 0:
        raise SchedulerError(f"prior_weeks must be positive, not {prior_weeks}")
    n, settled = grouping.recent_weeks, grouping.settled_after_weeks
    tally: dict[tuple[int, int, bool, bool, bool, bool], int] = {}
    get = tally.get
    for history in histories.values():
        engaging = [w.engaging for w in history]
        called = [w.called for w in history]
        engaged = 0                                 # engaging weeks among her last n
        for t in range(len(history) - 1):           # group_of(history[:t + 1]), rolling
            engaged += engaging[t]
            if t >= n:
                engaged -= engaging[t - n]
            key = (engaged, t + 1 if t < n else n, t + 1 >= settled, called[t], engaging[t],
                   engaging[t + 1])
            tally[key] = get(key, 0) + 1
    total = Counts()
    counts: dict[Group, Counts] = {}
    for (engaged, recent, is_settled, a, s, s_next), k in sorted(tally.items()):
        group = _group(engaged, recent, settled if is_settled else 0, grouping)
        for c in (counts.setdefault(group, Counts()), total):
            c.weeks[int(a)][int(s)] += k
            c.engaged[int(a)][int(s)] += k * int(s_next)
    population = _chain([[(total.engaged[a][s] + 1) / (total.weeks[a][s] + 2) for s in (0, 1)]
                         for a in (0, 1)])
    groups = {g: _chain([[(c.engaged[a][s] + prior_weeks * population.engage[a][s])
                          / (c.weeks[a][s] + prior_weeks) for s in (0, 1)] for a in (0, 1)])
              for g, c in counts.items()}
    return Model(population, groups, counts, grouping)


# -- ranking ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Pick:
    """A woman on the outreach list, with why."""
    subscriber_id: int
    index: float
    engaging: bool
    group: Group
    chance_without_call: float
    chance_with_call: float

    @property
    def outreach_reason(self) -> str:
        """Why she is listed (a pick's index is positive: the call raises her chance)."""
        state, goal = ("engaging", "keep engaging") if self.engaging else ("not engaging", "engage")
        return (f"{state}; a call raises her chance to {goal} next week from "
                f"{self.chance_without_call:.2f} to {self.chance_with_call:.2f}")


def _check_capacity(capacity: int) -> None:
    if capacity < 0:
        raise SchedulerError(f"the capacity must be at least 0, not {capacity}")


def rank(histories: Mapping[int, Sequence[Week]], model: Model, capacity: int,
         beta: float = DEFAULT_BETA, objective: str = DEFAULT_OBJECTIVE) -> list[Pick]:
    """The `capacity` women a live call helps most this week, highest Whittle index first
    (by the objective: fewest drops, the default, or most engaged weeks).

    Her state is her last week; her chain is her current group's. A woman with no week yet
    has no state and is left out; so is one whose index is not positive (the call does not
    serve the objective) or whose chain says a call does not raise her chance to be engaging
    next week (under "drops" a call that kept a woman away would avoid her later drops: the
    call centre never calls for that). Ties: lower subscriber id first.
    """
    _check_capacity(capacity)
    _check_beta(beta)
    n, settled = model.grouping.recent_weeks, model.grouping.settled_after_weeks
    known: dict[tuple[int, int, bool, int], tuple[float, Group]] = {}   # by group_of's parts
    candidates = []
    for sid, history in histories.items():
        if not history:
            continue
        state = int(history[-1].engaging)
        key = (sum(1 for w in history[-n:] if w.engaging), min(len(history), n),
               len(history) >= settled, state)
        if key not in known:
            group = group_of(history, model.grouping)
            chain = model.chain(group)
            known[key] = (whittle_index(chain, state, beta, objective=objective)
                          if chain.effect(state) > 0.0 else 0.0, group)
        index, group = known[key]
        if index > 0.0:
            candidates.append((-index, sid, group, state))
    picks = []
    for minus_index, sid, group, state in heapq.nsmallest(capacity, candidates):
        chain = model.chain(group)                # the K best only: (-index, id) is unique
        picks.append(Pick(sid, -minus_index, bool(state), group,
                          chain.engage[PASSIVE][state], chain.engage[ACTIVE][state]))
    return picks


def rank_at_risk(engagements: Mapping[int, Engagement], rule: AtRiskRule, now: datetime,
                 capacity: int) -> list[int]:
    """The comparator: women at risk by the programme's rule (scheduler/engagement.py), the
    longest unanswered first, then the longest run of low listening, then by subscriber id."""
    _check_capacity(capacity)
    risky = [sid for sid, eng in engagements.items() if at_risk(eng, rule, now)]
    risky.sort(key=lambda sid: (-weeks_unanswered(engagements[sid], now),
                                -engagements[sid].low_listening_run, sid))
    return risky[:capacity]
