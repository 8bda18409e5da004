"""Several trunks in one `ivr run`: how claimed calls are shared among them (no I/O)."""
import pytest

from ivr.config import Trunk
from ivr.lanes import Lane, assign


def lanes(*limits):
    return [Lane(Trunk(f"t{i}", "Local/{digits}@x", channels=ch, cps=cps))
            for i, (ch, cps) in enumerate(limits)]


def test_the_first_trunk_with_room_takes_each_call():
    a, b = lanes((2, 5.0), (3, 1.0))
    assert a.room == 2 and b.room == 1            # channels cap a, one second of cps caps b
    assert assign([a, b], 2) == [a, a]
    assert assign([a, b], 1) == [b]
    assert (a.room, b.room, a.queued, b.queued) == (0, 0, 2, 1)


def test_room_counts_channels_live_and_calls_waiting_at_the_pacer():
    (a,) = lanes((3, 10.0))
    assign([a], 2)
    a.pacer.take(0.0)                 # one passes the pacer and goes live
    a.queued -= 1
    assert a.room == 3 - 1 - 1        # free channels minus the one still waiting
    a.pacer.done()
    assert a.room == 2


def test_a_fractional_cps_still_lets_one_call_wait():
    (a,) = lanes((4, 0.5))
    assert a.room == 1


def test_more_calls_than_room_is_a_programming_error():
    (a,) = lanes((1, 1.0))
    with pytest.raises(StopIteration):
        assign([a], 2)
