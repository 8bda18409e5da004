"""Several trunks in one `ivr run`: a lane per trunk (its pacer and the calls waiting at
it), and how claimed calls are shared among the lanes: in order of preference, each to the
first lane with room, so a later trunk takes what the earlier ones cannot."""
from __future__ import annotations

import asyncio
from typing import Sequence

from ivr.config import Trunk
from ivr.pacing import Pacer


class Lane:
    """One trunk's way out: its pacer, and the claimed calls waiting at it. They pass the
    gate one at a time, in claim order, right before their Originate is written."""

    def __init__(self, trunk: Trunk):
        self.trunk = trunk
        self.pacer = Pacer(trunk.cps, trunk.channels)
        self.queued = 0                   # claimed calls not yet through the pacer
        self.gate = asyncio.Lock()

    @property
    def room(self) -> int:
        """How many more calls to claim for this trunk now: at most one second's worth
        waits at the pacer, so a callback claimed next is never more than about a second
        behind."""
        return min(self.pacer.free, max(int(self.trunk.cps), 1)) - self.queued


def assign(lanes: Sequence[Lane], count: int) -> list[Lane]:
    """The lanes for `count` claimed calls (at most the lanes' room together): each goes to
    the first lane with room, which queues it."""
    chosen = []
    for _ in range(count):
        lane = next(lane for lane in lanes if lane.room > 0)
        lane.queued += 1
        chosen.append(lane)
    return chosen
