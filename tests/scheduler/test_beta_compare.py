"""P(X > Y) for two Beta variables (scheduler/beta_compare.py): closed forms, symmetries,
the recurrence against the integral, and many draws."""
import math
import random

import pytest
from hypothesis import given, settings, strategies as st

from scheduler.beta_compare import integral_greater, probability_greater
from scheduler.model import SchedulerError


def log_beta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


@pytest.mark.parametrize("a1, b1, b2", [
    (1, 1, 1), (0.2, 9.8, 3.3), (5, 5, 5), (2.5, 0.3, 7), (0.1, 0.1, 0.5), (30, 70, 20),
    (0.05, 0.05, 0.05), (300, 700, 200), (9.7, 0.3, 0.2)])
def test_the_integral_matches_the_closed_form_when_y_is_beta_1_b(a1, b1, b2):
    # Y ~ Beta(1, b2): P(Y <= x) = 1 - (1 - x)^b2, so P(X > Y) = 1 - E[(1 - X)^b2]
    # = 1 - B(a1, b1 + b2) / B(a1, b1).
    closed = 1 - math.exp(log_beta(a1, b1 + b2) - log_beta(a1, b1))
    assert integral_greater(a1, b1, 1.0, b2) == pytest.approx(closed, abs=1e-11)


PRIORS = [(0.1, 9.9), (0.3, 9.7), (5.0, 5.0), (9.9, 0.1), (2.0, 8.0), (1.0, 1.0)]


@pytest.mark.parametrize("x", PRIORS)
@pytest.mark.parametrize("y", PRIORS)
def test_the_integral_keeps_the_symmetries(x, y):
    """P(X > Y) + P(Y > X) = 1; and P(X > Y) = P(1 - Y > 1 - X), 1 - X ~ Beta(b, a)."""
    assert integral_greater(*x, *y) + integral_greater(*y, *x) == pytest.approx(1, abs=1e-11)
    assert integral_greater(*x, *y) == pytest.approx(
        integral_greater(y[1], y[0], x[1], x[0]), abs=1e-11)


@pytest.mark.parametrize("prior_x, counts_x, prior_y, counts_y", [
    ((0.2, 9.8), (3, 1), (0.3, 9.7), (10, 0)),
    ((5, 5), (20, 14), (5, 5), (20, 8)),
    ((0.15, 4.85), (50, 3), (0.4, 4.6), (40, 1)),
    ((9.9, 0.1), (30, 30), (9.5, 0.5), (7, 6)),
    ((3, 7), (200, 80), (3, 7), (150, 45)),
    ((3, 7), (0, 0), (3, 7), (0, 0)),
    ((5, 5), (3000, 2900), (5, 5), (3000, 100)),       # far apart at the end
    # X's answers come first: X ~ Beta(805, 5) against Y ~ Beta(1, 2000) on the way, where
    # g = exp(-1649) underflows (recomputed), then both end near 0.4 (P about 0.51)
    ((5, 5), (2000, 800), (1, 2000), (3000, 2000)),
])
def test_the_recurrence_from_the_priors_equals_the_integral_at_the_posteriors(
        prior_x, counts_x, prior_y, counts_y):
    post_x = (prior_x[0] + counts_x[1], prior_x[1] + counts_x[0] - counts_x[1])
    post_y = (prior_y[0] + counts_y[1], prior_y[1] + counts_y[0] - counts_y[1])
    assert probability_greater(prior_x, counts_x, prior_y, counts_y) == \
        pytest.approx(integral_greater(*post_x, *post_y), abs=1e-10)


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.5, 0.97])
@pytest.mark.parametrize("hers, other", [
    ((5, 0), (5, 2)), ((5, 1), (6, 4)), ((20, 5), (8, 6)), ((40, 10), (30, 15)),
    ((5, 0), (200, 20)), ((100, 1), (5, 1))])
def test_the_exact_probability_agrees_with_many_paired_draws(rate, hers, other):
    """What the Monte Carlo rule estimated: 20,000 paired draws fall within 4.5 standard
    errors of the exact figure."""
    prior = (10 * rate, 10 * (1 - rate))
    exact = probability_greater(prior, other, prior, hers)
    x = (prior[0] + other[1], prior[1] + other[0] - other[1])
    y = (prior[0] + hers[1], prior[1] + hers[0] - hers[1])
    rng, n = random.Random(7), 20_000
    drawn = sum(rng.betavariate(*x) > rng.betavariate(*y) for _ in range(n)) / n
    assert abs(drawn - exact) <= 4.5 * math.sqrt(max(exact * (1 - exact), 1e-4) / n)


counts = st.integers(0, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n)))
priors = st.tuples(st.floats(0.05, 50), st.floats(0.05, 50))


@settings(max_examples=150, deadline=None)
@given(priors, counts, priors, counts)
def test_one_more_answer_in_x_never_lowers_the_probability(px, cx, py, cy):
    p = probability_greater(px, cx, py, cy)
    more = probability_greater(px, (cx[0] + 1, cx[1] + 1), py, cy)
    assert 0.0 <= p <= more + 1e-12 <= 1.0 + 1e-12


@pytest.mark.parametrize("args, match", [
    (((0, 1), (1, 1), (1, 1), (1, 1)), "positive"),
    (((1, 1), (1, 2), (1, 1), (1, 1)), "answered"),
    (((1, 1), (1, 1), (1, -1), (1, 1)), "positive"),
    (((1, 1), (1, 1), (1, 1), (3, -1)), "answered"),
])
def test_bad_parameters_are_refused(args, match):
    with pytest.raises(SchedulerError, match=match):
        probability_greater(*args)
