"""scheduler/outreach.py `estimate` (tallied by small keys) and `rank` (the K best by a heap,
the index cached by group_of's parts) against the ones they replaced (a Group and a Counts
per transition; a Pick per woman and a full sort; kept here as the reference): the same
chains, counts and ranking on random histories."""
import random

from hypothesis import given, settings, strategies as st

from scheduler.outreach import (
    ACTIVE, PASSIVE, Chain, Counts, Grouping, Model, Pick, Week, _group, estimate, group_of,
    rank, whittle_index,
)


def reference_estimate(histories, grouping=Grouping(), prior_weeks=8.0) -> Model:
    total = Counts()
    counts = {}
    n = grouping.recent_weeks
    for history in histories.values():
        engaged = 0
        for t in range(len(history) - 1):
            engaged += history[t].engaging
            if t >= n:
                engaged -= history[t - n].engaging
            group = _group(engaged, min(t + 1, n), t + 1, grouping)
            counts.setdefault(group, Counts()).add(history[t], history[t + 1])
            total.add(history[t], history[t + 1])

    def chain(rows):
        return Chain(((rows[0][0], rows[0][1]), (rows[1][0], rows[1][1])))
    population = chain([[(total.engaged[a][s] + 1) / (total.weeks[a][s] + 2) for s in (0, 1)]
                        for a in (0, 1)])
    groups = {g: chain([[(c.engaged[a][s] + prior_weeks * population.engage[a][s])
                         / (c.weeks[a][s] + prior_weeks) for s in (0, 1)] for a in (0, 1)])
              for g, c in counts.items()}
    return Model(population, groups, counts, grouping)


def reference_rank(histories, model, capacity, beta=0.9, objective="drops"):
    index = {}
    picks = []
    for sid, history in histories.items():
        if not history:
            continue
        group = group_of(history, model.grouping)
        chain = model.chain(group)
        state = int(history[-1].engaging)
        if (group, state) not in index:
            index[group, state] = whittle_index(chain, state, beta, objective=objective)
        if index[group, state] > 0.0 and chain.effect(state) > 0.0:
            picks.append(Pick(sid, index[group, state], bool(state), group,
                              chain.engage[PASSIVE][state], chain.engage[ACTIVE][state]))
    picks.sort(key=lambda p: (-p.index, p.subscriber_id))
    return picks[:capacity]


def random_histories(rnd: random.Random, women: int, most_weeks: int) -> dict[int, list[Week]]:
    out = {}
    for sid in rnd.sample(range(1, 10 * women + 1), women):        # ids in no order
        p, q = rnd.random(), rnd.random() * 0.3
        out[sid] = [Week(rnd.random() < p, rnd.random() < q)
                    for _ in range(rnd.randint(0, most_weeks))]
    return out


def same(histories, grouping=Grouping(), prior_weeks=8.0):
    new = estimate(histories, grouping, prior_weeks)
    old = reference_estimate(histories, grouping, prior_weeks)
    assert new.population == old.population
    assert new.groups == old.groups            # Chain equality: the same floats, bit for bit
    assert new.counts == old.counts
    for objective in ("drops", "engaged"):
        for k in (1, 7, 100, 10_000):
            assert rank(histories, new, k, objective=objective) == \
                reference_rank(histories, old, k, objective=objective)
    return new


def test_the_same_model_and_ranking_on_a_seeded_population():
    histories = random_histories(random.Random(16), 2_000, 12)
    model = same(histories)
    assert len(model.groups) >= 6                    # low/mid/high x new/settled all seen
    assert rank(histories, model, 100)               # something is ranked


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 30),
       st.integers(1, 6), st.integers(1, 12), st.floats(0.5, 20))
def test_the_same_model_and_ranking_on_random_histories(seed, women, most_weeks, recent,
                                                         settled_after, prior_weeks):
    same(random_histories(random.Random(seed), women, most_weeks),
         Grouping(recent, settled_after), prior_weeks)
