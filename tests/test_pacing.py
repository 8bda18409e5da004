import math

import pytest
from hypothesis import given, settings, strategies as st

from ivr.pacing import Pacer


def run(pacer: Pacer, n: int, start: float = 0.0, hold: float = 0.0) -> list[float]:
    """Set up n calls as fast as the pacer allows; each ends `hold` s later (0 = at once)."""
    t, times, ends = start, [], []
    for _ in range(n):
        ends.sort()
        while ends and ends[0] <= t:
            ends.pop(0)
            pacer.done()
        d = pacer.delay(t)
        if math.isinf(d):
            t = ends[0]
            continue
        t += d
        pacer.take(t)
        times.append(t)
        if hold:
            ends.append(t + hold)
        else:
            pacer.done()
    return times


def max_in_window(times: list[float], width: float = 1.0) -> int:
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize("cps", [1, 2.5, 10, 20, 50])
def test_never_more_than_cps_in_any_second_and_evenly_spaced(cps):
    times = run(Pacer(cps=cps, channels=10_000), 200)
    assert max_in_window(times) <= math.ceil(cps)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) == pytest.approx(1 / cps, abs=1e-5)
    # and it is not slower than the cap: 200 calls take (200 - 1) / cps seconds
    assert times[-1] - times[0] == pytest.approx(199 / cps, abs=1e-3)


def test_idle_time_does_not_allow_a_burst():
    p = Pacer(cps=5, channels=100)
    p.take(0.0)
    p.done()
    assert p.delay(100.0) == 0.0
    p.take(100.0)
    assert p.delay(100.0) == pytest.approx(0.2, abs=1e-5)


def test_channels_limit_blocks_until_a_call_ends():
    p = Pacer(cps=1000, channels=2)
    p.take(0.0)
    p.take(0.001)
    assert math.isinf(p.delay(0.5))
    p.done()
    assert p.delay(0.5) == 0.0
    with pytest.raises(RuntimeError):
        Pacer(cps=1, channels=1).done()


@settings(max_examples=100, deadline=None)
@given(cps=st.floats(0.5, 100), channels=st.integers(1, 50), hold=st.floats(0, 5),
       n=st.integers(1, 150))
def test_property_cps_and_channels_hold(cps, channels, hold, n):
    p = Pacer(cps=cps, channels=channels)
    times = run(p, n, hold=hold)
    assert max_in_window(times) <= math.ceil(cps)
    assert p.live <= channels


@pytest.mark.parametrize("cps,channels", [(0, 1), (-1, 1), (1, 0)])
def test_bad_limits(cps, channels):
    with pytest.raises(ValueError):
        Pacer(cps=cps, channels=channels)


def test_late_wake_ups_do_not_lower_the_rate():
    """A timer that wakes up 1 ms late every time must not stretch the schedule."""
    p = Pacer(cps=50, channels=10_000)
    t, starts = 0.0, []
    for _ in range(500):
        t += p.delay(t) + 0.001
        p.take(t)
        p.done()
        starts.append(t)
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert rate == pytest.approx(50, rel=0.01)
    assert max_in_window(starts) <= 50
