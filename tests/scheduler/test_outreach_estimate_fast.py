"""scheduler/outreach.py `estimate` (tallied by small keys) and `rank` (the K best by a heap,
the index cached by group_of's parts) against the ones they replaced (a Group and a Counts
per transition; a Pick per woman and a full sort; kept here as the reference): the same
chains, counts and ranking on random histories."""
import random

from hypothesis import given, settings, strategies as st

from bench.outreach_old import reference_estimate, reference_histories, reference_rank
from scheduler.outreach import Grouping, Week, estimate, rank
from scheduler.outreach_weeks import WeekRow, Woman, histories


def random_histories(rnd: random.Random, women: int, most_weeks: int) -> dict[int, list[Week]]:
    out = {}
    for sid in rnd.sample(range(1, 10 * women + 1), women):        # ids in no order
        p, q = rnd.random(), rnd.random() * 0.3
        out[sid] = [Week(rnd.random() < p, rnd.random() < q)
                    for _ in range(rnd.randint(0, most_weeks))]
    return out


def same(histories, grouping=None, prior_weeks=8.0):
    grouping = grouping or Grouping()
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


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40), st.integers(2, 16))
def test_the_same_histories_from_random_rows(seed, women, weeks):
    """histories (the four shared weeks, her rows put in place) against the week-by-week
    reference: rows before her enrolment, outside the window, ended women included."""
    rnd = random.Random(seed)
    who = [Woman(sid, -rnd.randint(0, 3 * weeks), rnd.random() < 0.7)
           for sid in range(1, women + 1)]
    rows = [WeekRow(rnd.randint(1, women + 1), rnd.randint(-3 * weeks, 0),
                    rnd.random() < 0.5, rnd.random() < 0.2) for _ in range(5 * women)]
    assert histories(who, rows, -weeks) == reference_histories(who, rows, -weeks)
