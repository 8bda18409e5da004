"""P(X > Y) for two independent Beta variables, exactly (to about 1e-12), without draws. Pure.

Used by the slot suggestion (scheduler/answer_model.py `suggest_slot`): X is her chance to
answer in another slot, Y in her own, each a Beta posterior = a prior (the population's
rate, worth a few pseudo-calls) plus her calls there.

How. Write h(a1, b1, a2, b2) = P(X > Y), X ~ Beta(a1, b1), Y ~ Beta(a2, b2), and
g(a1, b1, a2, b2) = B(a1 + a2, b1 + b2) / (B(a1, b1) B(a2, b2)). Adding one success or one
failure to either side changes h by an exact term (J. D. Cook, "Exact calculation of beta
inequalities", 2005):

    h(a1 + 1, b1, a2, b2) = h + g / a1        h(a1, b1 + 1, a2, b2) = h - g / b1
    h(a1, b1, a2 + 1, b2) = h - g / a2        h(a1, b1, a2, b2 + 1) = h + g / b2

(each from integrating the Beta density by parts). So h at a posterior is h at the two
priors plus one term per call of hers: `probability_greater(prior_x, calls_x, prior_y,
calls_y)`. h at the priors (a few distinct pairs over a whole store: one prior per slot)
is one integral, h = integral over (0, 1) of f_X(x) I_x(a2, b2) dx, with I the regularised
incomplete beta function (a continued fraction, Lentz's method) and the double-exponential
(tanh-sinh) rule, which stays exact to about 1e-12 when a density is infinite at 0 or 1
(a prior parameter below 1: a population answering under 1 call in 10). It is cached.
"""
from __future__ import annotations

import math
from functools import lru_cache

from scheduler.model import SchedulerError

Beta = tuple[float, float]            # (alpha, beta), both > 0

_FIRST_STEP = 1.0 / 8                 # tanh-sinh steps: halved from this ...
_LAST_STEP = 1.0 / 4096               # ... down to this at most, and stopped no sooner
_SURE_STEP = 1.0 / 32                 # than this (a narrow peak missed by the coarse steps)
_REACH = 6.5                          # |t| beyond this: x or 1 - x below 1e-300
_EPS = 1e-15
_TINY = 1e-300
_SMALL = 1e-250                       # g below this: recomputed from lgamma, not scaled


def _check(*params: float) -> None:
    if not all(p > 0 and math.isfinite(p) for p in params):
        raise SchedulerError(f"Beta parameters must be positive and finite: {params}")


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise SchedulerError(f"the incomplete beta function did not converge at a={a}, b={b}")


def regularised_incomplete_beta(a: float, b: float, x: float, one_minus_x: float) -> float:
    """I_x(a, b) = P(Beta(a, b) <= x); 1 - x passed in, exact near 1."""
    if x <= 0.0:
        return 0.0
    if one_minus_x <= 0.0:
        return 1.0
    front = math.exp(a * math.log(x) + b * math.log(one_minus_x) - _log_beta(a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _fraction(a, b, x) / a
    return 1.0 - front * _fraction(b, a, one_minus_x) / b


def _weighted(a1: float, b1: float, a2: float, b2: float, log_b1: float, t: float) -> float:
    """The integrand f_X(x) I_x(a2, b2) dx/dt at x = 1 / (1 + exp(-pi sinh t))."""
    u = 0.5 * math.pi * math.sinh(t)              # x = 1 / (1 + exp(-2u)), dx/du = 2x(1-x)
    if u >= 0:
        log_x = -math.log1p(math.exp(-2.0 * u))
        log_rest = -2.0 * u + log_x               # log(1 - x)
    else:
        log_rest = -math.log1p(math.exp(2.0 * u))
        log_x = 2.0 * u + log_rest
    x, one_minus_x = math.exp(log_x), math.exp(log_rest)
    if x <= 0.0 or one_minus_x <= 0.0:
        return 0.0
    # x^(a1-1) (1-x)^(b1-1) / B(a1, b1) * 2x(1-x) * (pi/2) cosh t
    front = math.exp(math.log(math.pi * math.cosh(t)) + a1 * log_x + b1 * log_rest - log_b1)
    return front * regularised_incomplete_beta(a2, b2, x, one_minus_x)


@lru_cache(maxsize=4096)
def integral_greater(a1: float, b1: float, a2: float, b2: float) -> float:
    """P(Beta(a1, b1) > Beta(a2, b2)) by the tanh-sinh rule, its step halved until two
    steps agree to 1e-13, from a step of 1/32 on (cached: used at the priors, a few pairs
    over a whole store)."""
    _check(a1, b1, a2, b2)
    log_b1 = _log_beta(a1, b1)
    step = _FIRST_STEP
    total = sum(_weighted(a1, b1, a2, b2, log_b1, k * step)
                for k in range(-int(_REACH / step), int(_REACH / step) + 1))
    estimate = total * step
    while step > _LAST_STEP:
        step /= 2
        total += sum(_weighted(a1, b1, a2, b2, log_b1, k * step)    # the new, odd points
                     for k in range(-int(_REACH / step) | 1, int(_REACH / step) + 1, 2))
        previous, estimate = estimate, total * step
        if step <= _SURE_STEP and abs(estimate - previous) < 1e-13:
            break
    return min(1.0, max(0.0, estimate))


def probability_greater(prior_x: Beta, counts_x: tuple[int, int], prior_y: Beta,
                        counts_y: tuple[int, int]) -> float:
    """P(X > Y), X ~ Beta(prior_x + her (calls, answered) there), Y likewise: the integral
    at the priors, then one exact step per call (Cook's recurrences)."""
    (a1, b1), (a2, b2) = prior_x, prior_y
    h = integral_greater(a1, b1, a2, b2)
    moves = []                                     # (which parameter, how many steps)
    for (calls, answered), side in ((counts_x, 0), (counts_y, 1)):
        if not 0 <= answered <= calls:
            raise SchedulerError(f"answered must lie in 0..calls, got {answered} of {calls}")
        moves += [(2 * side, answered), (2 * side + 1, calls - answered)]
    g = 0.0
    for which, count in moves:
        for _ in range(count):
            if g < _SMALL:     # at the start, and where g (updated by ratios) would underflow
                g = math.exp(_log_beta(a1 + a2, b1 + b2) - _log_beta(a1, b1)
                             - _log_beta(a2, b2))
            s1, s2 = a1 + a2, b1 + b2
            if which == 0:        # a1 + 1: X answered once more
                h += g / a1
                g *= s1 * (a1 + b1) / ((s1 + s2) * a1)
                a1 += 1.0
            elif which == 1:      # b1 + 1: X missed once more
                h -= g / b1
                g *= s2 * (a1 + b1) / ((s1 + s2) * b1)
                b1 += 1.0
            elif which == 2:      # a2 + 1
                h -= g / a2
                g *= s1 * (a2 + b2) / ((s1 + s2) * a2)
                a2 += 1.0
            else:                 # b2 + 1
                h += g / b2
                g *= s2 * (a2 + b2) / ((s1 + s2) * b2)
                b2 += 1.0
    return min(1.0, max(0.0, h))
