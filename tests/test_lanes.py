"""Several trunks in one `ivr run`: how claimed calls are shared among them, and a trunk
that keeps failing rests (no I/O; time is passed in)."""
import pytest

from ivr.config import Trunk
from ivr.lanes import MAX_REST, Lane, assign
from scheduler.outcome import Outcome


def lanes(*limits, rest_after=5, rest_seconds=60.0):
    return [Lane(Trunk(f"t{i}", "Local/{digits}@x", channels=ch, cps=cps,
                       rest_after=rest_after, rest_seconds=rest_seconds))
            for i, (ch, cps) in enumerate(limits)]


def place(lane: Lane, now: float) -> None:
    """One claimed call passes the pacer and goes live, as the Dialer does."""
    assign([lane], 1, now)
    lane.pacer.take(now)
    lane.queued -= 1


def end(lane: Lane, outcome: Outcome, now: float) -> None:
    lane.ended(outcome, now)
    lane.pacer.done()


def test_the_first_trunk_with_room_takes_each_call():
    a, b = lanes((2, 5.0), (3, 1.0))
    assert a.room(0) == 2 and b.room(0) == 1      # channels cap a, one second of cps caps b
    assert assign([a, b], 2, 0) == [a, a]
    assert assign([a, b], 1, 0) == [b]
    assert (a.room(0), b.room(0), a.queued, b.queued) == (0, 0, 2, 1)


def test_room_counts_channels_live_and_calls_waiting_at_the_pacer():
    (a,) = lanes((3, 10.0))
    assign([a], 2, 0)
    a.pacer.take(0.0)                 # one passes the pacer and goes live
    a.queued -= 1
    assert a.room(0) == 3 - 1 - 1     # free channels minus the one still waiting
    a.pacer.done()
    assert a.room(0) == 2


def test_a_fractional_cps_still_lets_one_call_wait():
    (a,) = lanes((4, 0.5))
    assert a.room(0) == 1


def test_more_calls_than_room_is_a_programming_error():
    (a,) = lanes((1, 1.0))
    with pytest.raises(StopIteration):
        assign([a], 2, 0)


def test_a_trunk_failing_calls_in_a_row_rests_and_the_next_takes_its_calls():
    a, b = lanes((10, 10.0), (10, 10.0), rest_after=3, rest_seconds=60.0)
    for t in range(3):
        place(a, t)
    for t, outcome in enumerate([Outcome.CONGESTION, Outcome.FAILED]):
        end(a, outcome, 10 + t)
    assert a.resting_until is None and a.room(12) > 0      # two in a row: not yet
    end(a, Outcome.CONGESTION, 12)
    assert a.resting_until == 72 and a.room(12) == 0 and not a.accepts(12)
    assert assign([a, b], 2, 13) == [b, b]                 # the next trunk takes its calls


def test_after_its_rest_one_call_at_a_time_tries_it_and_a_failure_doubles_the_rest():
    (a,) = lanes((10, 10.0), rest_after=1, rest_seconds=60.0)
    place(a, 0)
    end(a, Outcome.FAILED, 1)
    assert a.room(60.9) == 0 and a.room(61) == 1           # rested 60 s: one call may try
    place(a, 61)
    assert a.room(61.5) == 0                               # only one at a time
    end(a, Outcome.CONGESTION, 62)
    assert a.resting_until == 62 + 120                     # failed again: twice as long
    place(a, 182)
    end(a, Outcome.FAILED, 183)
    assert a.resting_until == 183 + 240


def test_a_call_that_reaches_a_phone_ends_the_rest():
    (a,) = lanes((10, 10.0), rest_after=1, rest_seconds=60.0)
    place(a, 0)
    end(a, Outcome.FAILED, 1)
    place(a, 61)
    end(a, Outcome.BUSY, 70)                               # her phone was busy: the trunk works
    assert (a.failures, a.resting_until, a.room(70)) == (0, None, 10)


def test_calls_placed_before_the_rest_began_do_not_lengthen_it():
    (a,) = lanes((10, 10.0), rest_after=2, rest_seconds=60.0)
    for t in range(5):
        place(a, t)
    for t in range(5):
        end(a, Outcome.CONGESTION, 10 + t)
    assert a.resting_until == 11 + 60 and a.failures == 5


def test_rests_never_exceed_the_longest_and_rest_after_0_never_rests():
    (a,) = lanes((10, 10.0), rest_after=1, rest_seconds=60.0)
    t, rests = 0.0, []
    for _ in range(2000):                  # a long outage, tried again after every rest
        place(a, t)
        end(a, Outcome.FAILED, t)
        rests.append(a.resting_until - t)
        t = a.resting_until
    assert rests[:5] == [60, 120, 240, 480, MAX_REST] and max(rests) == MAX_REST
    assert a.rests == 2000
    (long,) = lanes((10, 10.0), rest_after=1, rest_seconds=3600.0)
    place(long, 0)
    end(long, Outcome.FAILED, 0)
    assert long.resting_until == 3600                      # a longer first rest is kept
    (b,) = lanes((10, 10.0), rest_after=0)
    for t in range(20):
        place(b, t)
        end(b, Outcome.FAILED, t)
    assert b.resting_until is None and b.room(20) == 10


def test_a_trial_call_that_rings_opens_the_trunk_before_it_ends():
    """The trial call held the other calls back for its whole length (40 s in the drill):
    her phone ringing is proof enough that the trunk reaches phones."""
    (a,) = lanes((30, 10.0), rest_after=2, rest_seconds=10.0)
    for t in (0.0, 0.1):
        place(a, t)
        end(a, Outcome.FAILED, t)
    assert a.resting_until == 10.1 and a.room(10.2) == 1
    place(a, 10.2)                              # the one trial call
    assert a.room(10.3) == 0                    # the others wait for it...
    a.reached(11.0)                             # ...until her phone rings
    assert a.room(11.0) == 10 and a.resting_until is None and a.failures == 0
    end(a, Outcome.ANSWERED, 50.0)
    assert a.room(50.0) == 10


def test_ringing_on_a_healthy_trunk_changes_nothing():
    (a,) = lanes((5, 5.0))
    place(a, 0.0)
    a.reached(0.5)
    assert (a.failures, a.rests, a.resting_until, a.room(0.5)) == (0, 0, None, 4)
