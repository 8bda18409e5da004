"""Whom to call first (scheduler/outreach.py): the Whittle index, estimation, ranking."""
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from scheduler.engagement import Engagement
from scheduler.model import SchedulerError
from scheduler.outreach import (ACTIVE, DEFAULT_OBJECTIVE, ENGAGING, NOT_ENGAGING, OBJECTIVES,
                                PASSIVE, Chain, Counts, Group, Grouping, Model, Week,
                                call_advantage, closed_form_index, estimate, group_of, is_engaging,
                                rank, rank_at_risk, reward, whittle_index)
from scheduler.policy import AtRiskRule

FAST = settings(max_examples=200, deadline=None)

# engage[a][s]: passive from not engaging 0.20, from engaging 0.80; active 0.45, 0.85
HAND = Chain(((0.20, 0.80), (0.45, 0.85)))


def test_the_engaged_index_of_a_chain_computed_by_hand():
    """beta = 0.9, objective "engaged": reward 1 in an engaging week.

    Not engaging (s = 0): the call's effect d(0) = 0.45 - 0.20 = 0.25; engaging: d(1) =
    0.85 - 0.80 = 0.05. At the index lambda of s = 0, calling and not are equal:
        lambda = beta * d(0) * D,  D = V(engaging) - V(not engaging).
    d(0) > d(1), so at that subsidy the engaging state rests (passive); both values carry
    the subsidy, which cancels in D:
        D = 1 + beta * (0.80 - 0.20) * D = 1 + 0.54 D   =>   D = 1 / 0.46
        lambda(0) = 0.9 * 0.25 / 0.46 = 0.225 / 0.46 = 0.48913043478...
    For s = 1, d(1) < d(0): the other state is called, so D uses the active chances:
        D = 1 + 0.9 * (0.85 - 0.45) * D = 1 + 0.36 D   =>   D = 1 / 0.64
        lambda(1) = 0.9 * 0.05 / 0.64 = 0.045 / 0.64 = 0.0703125
    """
    e = "engaged"
    assert whittle_index(HAND, NOT_ENGAGING, 0.9, objective=e) == \
        pytest.approx(0.225 / 0.46, abs=1e-6)
    assert whittle_index(HAND, ENGAGING, 0.9, objective=e) == pytest.approx(0.0703125, abs=1e-6)
    assert closed_form_index(HAND, NOT_ENGAGING, 0.9, e) == pytest.approx(0.225 / 0.46, abs=1e-12)
    assert closed_form_index(HAND, ENGAGING, 0.9, e) == pytest.approx(0.0703125, abs=1e-12)


# the simulation's wavering kind: passive 0.20 / 0.60, active 0.60 / 0.90
WAVERING = Chain(((0.20, 0.60), (0.60, 0.90)))


def test_the_drops_index_of_a_chain_computed_by_hand():
    """beta = 0.9, objective "drops" (the default): reward 1 for a week that is not a drop.

    The week's reward: not engaging, r_a(0) = 1 (she cannot drop); engaging, r_a(1) =
    P(engaging next week) = p_a(1): r_0(1) = 0.60, r_1(1) = 0.90. The call's effects: d(0) =
    0.40, d(1) = 0.30; its gain in this week's reward g(0) = 0, g(1) = d(1) = 0.30.
    At the index lambda of s, -lambda + g(s) + beta * d(s) * D = 0 with D = V(1) - V(0),
    where both states take the other state's action a (the subsidy cancels in D):
        D_a = (r_a(1) - r_a(0)) / (1 - beta * (p_a(1) - p_a(0))).
    s = 1 (engaging), other passive: D_0 = (0.60 - 1) / (1 - 0.9 * 0.40) = -0.4 / 0.64
    = -0.625; lambda(1) = 0.30 + 0.9 * 0.30 * (-0.625) = 0.30 - 0.16875 = 0.13125 (= 21/160).
    Consistent: the other state's h_0(0) = 0.9 * 0.40 * (-0.625) = -0.225 <= 0.13125, so
    not engaging rests at that subsidy.
    s = 0 (not engaging): passive for the other is not consistent (h_0(1) = 0.13125 >
    h_0(0) = -0.225), so engaging is called: D_1 = (0.90 - 1) / (1 - 0.9 * 0.30) = -0.1 / 0.73;
    lambda(0) = 0.9 * 0.40 * (-0.1 / 0.73) = -0.036 / 0.73 = -18/365 = -0.04931...
    (consistent: h_1(1) = 0.30 - 0.027 / 0.73 = 0.263 > -0.0493). Negative: under "drops",
    bringing a woman back is worth nothing by itself and exposes her to a drop.
    """
    assert whittle_index(WAVERING, ENGAGING, 0.9) == pytest.approx(21 / 160, abs=1e-6)
    assert whittle_index(WAVERING, NOT_ENGAGING, 0.9) == pytest.approx(-18 / 365, abs=1e-6)
    assert closed_form_index(WAVERING, ENGAGING, 0.9) == pytest.approx(21 / 160, abs=1e-12)
    assert closed_form_index(WAVERING, NOT_ENGAGING, 0.9) == pytest.approx(-18 / 365, abs=1e-12)
    assert DEFAULT_OBJECTIVE == "drops"
    for s in (NOT_ENGAGING, ENGAGING):
        w = whittle_index(WAVERING, s, 0.9, objective="drops")
        assert abs(call_advantage(WAVERING, s, w, 0.9, "drops")) < 1e-8
        assert call_advantage(WAVERING, s, w - 0.01, 0.9, "drops") > 0
        assert call_advantage(WAVERING, s, w + 0.01, 0.9, "drops") < 0


def test_the_weeks_reward_by_objective():
    assert [reward(WAVERING, a, s, "engaged") for a in (0, 1) for s in (0, 1)] == [0, 1, 0, 1]
    assert [reward(WAVERING, a, s, "drops") for a in (0, 1) for s in (0, 1)] == \
        pytest.approx([1.0, 0.60, 1.0, 0.90])
    with pytest.raises(SchedulerError):
        reward(WAVERING, PASSIVE, ENGAGING, "weeks")
    with pytest.raises(SchedulerError):
        whittle_index(WAVERING, ENGAGING, objective="weeks")


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_at_the_index_calling_and_not_are_equally_good_and_not_elsewhere(objective):
    for s in (NOT_ENGAGING, ENGAGING):
        w = whittle_index(HAND, s, 0.9, objective=objective)
        assert abs(call_advantage(HAND, s, w, 0.9, objective)) < 1e-8
        assert call_advantage(HAND, s, w - 0.01, 0.9, objective) > 0      # cheaper rest: call
        assert call_advantage(HAND, s, w + 0.01, 0.9, objective) < 0      # dearer rest: don't


@pytest.mark.parametrize("chain", [Chain(((0.3, 0.7), (0.3, 0.9))),
                                   Chain(((0.0, 1.0), (0.0, 1.0))),
                                   Chain(((0.5, 0.5), (0.5, 0.2)))])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_a_state_where_the_call_makes_no_difference_has_index_0(chain, objective):
    assert whittle_index(chain, NOT_ENGAGING, 0.9, objective=objective) == \
        pytest.approx(0.0, abs=1e-9)
    assert closed_form_index(chain, NOT_ENGAGING, 0.9, objective) == 0.0


def test_a_call_that_hurts_has_a_negative_index_and_a_bigger_effect_a_bigger_one():
    hurts = Chain(((0.5, 0.8), (0.3, 0.8)))
    assert whittle_index(hurts, NOT_ENGAGING, objective="engaged") < 0
    small, big = Chain(((0.2, 0.8), (0.3, 0.8))), Chain(((0.2, 0.8), (0.6, 0.8)))
    assert whittle_index(small, NOT_ENGAGING, objective="engaged") < \
        whittle_index(big, NOT_ENGAGING, objective="engaged")
    # drops: a call that lowers her chance to stay engaging has a negative index there
    assert whittle_index(Chain(((0.5, 0.8), (0.5, 0.6))), ENGAGING) < 0
    keep_small, keep_big = Chain(((0.2, 0.6), (0.2, 0.7))), Chain(((0.2, 0.6), (0.2, 0.9)))
    assert 0 < whittle_index(keep_small, ENGAGING) < whittle_index(keep_big, ENGAGING)


@pytest.mark.parametrize("beta", [0.0, 1.0, -0.5, 1.5])
def test_the_discount_must_be_below_1_and_above_0(beta):
    with pytest.raises(SchedulerError):
        whittle_index(HAND, NOT_ENGAGING, beta)


chances = st.floats(0.0, 1.0)
chains = st.tuples(st.tuples(chances, chances), st.tuples(chances, chances)).map(Chain)


@FAST
@given(chains, st.sampled_from([NOT_ENGAGING, ENGAGING]), st.floats(0.05, 0.99),
       st.sampled_from(OBJECTIVES))
def test_bisection_matches_the_closed_form(chain, state, beta, objective):
    assert whittle_index(chain, state, beta, objective=objective) == \
        pytest.approx(closed_form_index(chain, state, beta, objective), abs=1e-6)


@FAST
@given(chains, st.sampled_from([NOT_ENGAGING, ENGAGING]), st.floats(0.05, 0.99),
       st.sampled_from(OBJECTIVES))
def test_the_chain_is_indexable_the_call_advantage_falls_as_the_subsidy_rises(chain, state, beta,
                                                                             objective):
    """Indexable: the set of subsidies where resting is best only grows with the subsidy, so
    the call's advantage changes sign once (what the bisection relies on)."""
    bound = 1.0 / (1.0 - beta)
    grid = [-bound + 2 * bound * k / 60 for k in range(61)]
    advantages = [call_advantage(chain, state, x, beta, objective) for x in grid]
    assert all(later <= earlier + 1e-9 for earlier, later in
               zip(advantages, advantages[1:], strict=False))
    assert advantages[0] >= -1e-9 and advantages[-1] <= 1e-9


@FAST
@given(chains)
def test_matrix_rows_are_probabilities(chain):
    for a in (PASSIVE, ACTIVE):
        for row in chain.matrix(a):
            assert all(0.0 <= p <= 1.0 for p in row)
            assert sum(row) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [-0.1, 1.2, float("nan")])
def test_a_chance_outside_0_1_is_refused(bad):
    with pytest.raises(SchedulerError):
        Chain(((bad, 0.5), (0.5, 0.5)))


@pytest.mark.parametrize("heard, engaging", [
    ([], False), ([29.9, 12.0], False), ([30.0], True), ([0.0, 95.5], True)])
def test_engaging_is_30_seconds_heard_on_a_call_that_week(heard, engaging):
    assert is_engaging(heard) is engaging


# -- groups ------------------------------------------------------------------------------

def weeks(pattern, called=""):
    """'EE.E' -> weeks (E engaging, . not); `called`: the same length, 'c' where called."""
    called = called or " " * len(pattern)
    return [Week(p == "E", c == "c") for p, c in zip(pattern, called, strict=True)]


@pytest.mark.parametrize("pattern, group", [
    ("E", Group("high", "new")),
    (".", Group("low", "new")),
    ("E.", Group("mid", "new")),                  # 1 of 2: >= 1/3, < 2/3
    ("EEE.", Group("high", "new")),               # 3 of 4 >= 2/3
    ("EE..", Group("mid", "new")),
    ("E...", Group("low", "new")),                # 1 of 4 < 1/3
    ("EEEE....", Group("low", "settled")),        # only the last 4 weeks count
    ("....EEEE", Group("high", "settled")),
    ("EEE.E.E", Group("mid", "new")),             # 7 weeks: not yet settled
])
def test_group_of_her_history(pattern, group):
    assert group_of(weeks(pattern)) == group


def test_group_of_follows_the_grouping():
    assert group_of(weeks("E..E"), Grouping(recent_weeks=1, settled_after_weeks=4)) == \
        Group("high", "settled")
    with pytest.raises(SchedulerError):
        group_of([])


# -- estimation --------------------------------------------------------------------------

TRUE = Chain(((0.20, 0.70), (0.50, 0.85)))


def simulate(chain, women, n_weeks, call_share, rng):
    histories = {}
    for sid in range(1, women + 1):
        state = rng.random() < 0.5
        history = []
        for _ in range(n_weeks):
            called = rng.random() < call_share
            history.append(Week(state, called))
            state = rng.random() < chain.engage[int(called)][int(state)]
        histories[sid] = history
    return histories


def test_estimation_recovers_the_true_chain():
    histories = simulate(TRUE, 1500, 16, 0.3, random.Random(7))
    model = estimate(histories)
    for a in (PASSIVE, ACTIVE):
        for s in (NOT_ENGAGING, ENGAGING):
            assert model.population.engage[a][s] == pytest.approx(TRUE.engage[a][s], abs=0.03)
            for group, counts in model.counts.items():
                if counts.weeks[a][s] >= 200:          # enough weeks to estimate well
                    assert model.groups[group].engage[a][s] == \
                        pytest.approx(TRUE.engage[a][s], abs=0.08), (group, a, s)
    # every transition is counted once, in one group
    assert sum(c.weeks[a][s] for c in model.counts.values() for a in (0, 1) for s in (0, 1)) == \
        1500 * 15


def test_estimation_tells_groups_with_different_chains_apart():
    """Women who engage often and whom a call helps little, women who rarely engage and whom
    a call helps a lot: the groups' estimates show it."""
    rng = random.Random(3)
    keen = Chain(((0.6, 0.95), (0.65, 0.95)))
    drifting = Chain(((0.05, 0.3), (0.5, 0.6)))
    histories = simulate(keen, 800, 12, 0.3, rng)
    histories.update({sid + 1000: h for sid, h in simulate(drifting, 800, 12, 0.3, rng).items()})
    model = estimate(histories)
    high = model.chain(Group("high", "settled"))
    low = model.chain(Group("low", "settled"))
    assert high.effect(NOT_ENGAGING) < low.effect(NOT_ENGAGING)
    assert low.effect(NOT_ENGAGING) == pytest.approx(0.45, abs=0.1)


def test_a_small_group_is_shrunk_toward_the_population():
    big = {sid: weeks("E.E.E.E.E.", "c c  c c  ") for sid in range(1, 200)}
    # one woman, never called, settled and always engaging: a group of her own
    one = {999: weeks("EEEEEEEEEE")}
    model = estimate({**big, **one}, prior_weeks=8.0)
    alone = Group("high", "settled")
    assert model.counts[alone].weeks[ACTIVE] == [0, 0]
    # no active weeks in her group: the population's active chances, exactly
    assert model.groups[alone].engage[ACTIVE] == model.population.engage[ACTIVE]
    # her weeks 8 and 9 (settled from week 8) are her group's 2 passive weeks from engaging,
    # both followed by an engaging week: (2 + 8 p) / (2 + 8), not 1.0
    assert model.counts[alone].weeks[PASSIVE] == [0, 2]
    p = model.population.engage[PASSIVE][ENGAGING]
    assert p < 0.1          # the others rarely stay engaging without a call
    assert model.groups[alone].engage[PASSIVE][ENGAGING] == pytest.approx((2 + 8 * p) / 10)
    # a group never seen has the population's chain
    assert Group("low", "settled") not in model.counts
    assert model.chain(Group("low", "settled")) == model.population


def test_an_empty_history_gives_the_uniform_prior():
    model = estimate({1: [], 2: [Week(True)]})
    assert model.population.engage == ((0.5, 0.5), (0.5, 0.5))
    assert model.groups == {}
    with pytest.raises(SchedulerError):
        estimate({}, prior_weeks=0)


histories_st = st.dictionaries(
    st.integers(1, 50), st.lists(st.builds(Week, st.booleans(), st.booleans()), max_size=12),
    max_size=12)


@FAST
@given(histories_st, st.integers(1, 5), st.integers(1, 8))
def test_each_transition_is_counted_in_the_group_of_her_history_up_to_it(histories, n, settled):
    grouping = Grouping(recent_weeks=n, settled_after_weeks=settled)
    expected = {}
    for h in histories.values():
        for t in range(len(h) - 1):
            expected.setdefault(group_of(h[:t + 1], grouping), Counts()).add(h[t], h[t + 1])
    assert estimate(histories, grouping).counts == expected


@FAST
@given(histories_st, st.floats(0.1, 50))
def test_estimates_are_probabilities(histories, prior):
    model = estimate(histories, prior_weeks=prior)
    for chain in [model.population, *model.groups.values()]:
        for a in (PASSIVE, ACTIVE):
            for row in chain.matrix(a):
                assert all(0.0 <= p <= 1.0 for p in row) and sum(row) == pytest.approx(1.0)


# -- ranking -----------------------------------------------------------------------------

def table_model(chains):
    """A model whose groups have the given chains (no estimation)."""
    return Model(Chain(((0.5, 0.5), (0.5, 0.5))), chains, {}, Grouping())


def test_ranking_order_on_a_small_table():
    low_new, high_new = Group("low", "new"), Group("high", "new")
    model = table_model({low_new: Chain(((0.20, 0.80), (0.45, 0.85))),   # index(0) 0.489
                         high_new: Chain(((0.20, 0.80), (0.45, 0.85)))})  # index(1) 0.0703
    histories = {
        5: weeks("."),          # not engaging, low/new: 0.489
        3: weeks("E"),          # engaging, high/new: 0.0703
        4: weeks(".."),         # not engaging: 0.489, ties with 5: lower id first
        9: [],                  # no week yet: no state, left out
        1: weeks("EEE"),        # engaging: 0.0703, ties with 3
    }
    picks = rank(histories, model, capacity=10, beta=0.9, objective="engaged")
    assert [p.subscriber_id for p in picks] == [4, 5, 1, 3]
    assert picks[0].index == pytest.approx(0.225 / 0.46, abs=1e-6)
    assert picks[0].outreach_reason == \
        "not engaging; a call raises her chance to engage next week from 0.20 to 0.45"
    assert picks[2].outreach_reason == \
        "engaging; a call raises her chance to keep engaging next week from 0.80 to 0.85"
    assert [p.subscriber_id for p in rank(histories, model, 3, 0.9, "engaged")] == [4, 5, 1]
    assert rank(histories, model, capacity=0) == []
    # drops (the default): only the engaging women (d(1) = 0.05 > 0: a positive index, tied,
    # lower id first); not engaging ones have a negative index and are left out
    drops = rank(histories, model, capacity=10, beta=0.9)
    assert [p.subscriber_id for p in drops] == [1, 3]
    assert drops[0].index == pytest.approx(closed_form_index(HAND, ENGAGING, 0.9), abs=1e-6)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_a_woman_a_call_cannot_help_is_not_listed(objective):
    model = table_model({Group("low", "new"): Chain(((0.3, 0.8), (0.3, 0.8))),
                         Group("high", "new"): Chain(((0.3, 0.8), (0.3, 0.6)))})
    assert rank({1: weeks("."), 2: weeks("E")}, model, 5, objective=objective) == []


def test_under_drops_a_call_that_would_keep_her_away_is_never_listed():
    """Not engaging, a call lowers her chance to come back (0.5 -> 0.2): under "drops" that
    avoids her later drops, so the index is positive, but the call centre does not call for that."""
    hurts = Chain(((0.5, 0.6), (0.2, 0.6)))
    assert whittle_index(hurts, NOT_ENGAGING) > 0
    model = table_model({Group("low", "new"): hurts})
    assert rank({1: weeks(".")}, model, capacity=5) == []
    with pytest.raises(SchedulerError):
        rank({}, model, capacity=-1)


@FAST
@given(st.dictionaries(st.integers(1, 400),
                       st.lists(st.builds(Week, st.booleans(), st.booleans()), max_size=10),
                       max_size=40),
       st.integers(0, 50), st.sampled_from(OBJECTIVES))
def test_the_ranking_lists_at_most_k_distinct_women_best_first(histories, k, objective):
    model = estimate(histories)
    picks = rank(histories, model, k, objective=objective)
    ids = [p.subscriber_id for p in picks]
    assert len(ids) <= k and len(set(ids)) == len(ids)
    assert set(ids) <= {sid for sid, h in histories.items() if h}
    assert all(p.index > 0 and p.chance_with_call > p.chance_without_call for p in picks)
    assert [(-p.index, p.subscriber_id) for p in picks] == \
        sorted((-p.index, p.subscriber_id) for p in picks)


def test_the_at_risk_comparator_orders_by_the_rule():
    now = datetime(2026, 11, 30, tzinfo=timezone.utc)
    rule = AtRiskRule(unanswered_weeks=3, low_listening_calls=3)
    eng = {
        1: Engagement(unanswered_since=now - timedelta(weeks=5)),
        2: Engagement(unanswered_since=now - timedelta(weeks=3)),
        3: Engagement(low_listening_run=4),
        4: Engagement(unanswered_since=now - timedelta(weeks=1)),    # not at risk
        5: Engagement(low_listening_run=3),
        6: Engagement(unanswered_since=now - timedelta(weeks=3)),    # ties with 2
    }
    assert rank_at_risk(eng, rule, now, 10) == [1, 2, 6, 3, 5]
    assert rank_at_risk(eng, rule, now, 2) == [1, 2]
