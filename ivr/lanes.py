"""Several trunks in one `ivr run`: a lane per trunk (its pacer, the calls waiting at it,
and its health), and how claimed calls are shared among the lanes: in order of preference,
each to the first lane with room, so a later trunk takes what the earlier ones cannot.

A trunk that fails `rest_after` calls in a row (congestion, or a failure that never reached
a phone: the carrier is down or refuses us) rests for `rest_seconds`: no call goes to it, so
an outage does not use up the women's attempts, and the other trunks take its calls. Then one
call at a time tries it again; the first call that reaches a phone (it rings, or ends answered,
busy, no answer, rejected...) ends the rest, another failure doubles it (up to MAX_REST, or
rest_seconds if that is longer). Time is passed in.

A trunk shared by several nodes (`shared_cps`) paces at this node's share of the cap, set at
each heartbeat (ivr/node_heartbeat.py, the rule in ivr/nodes.py); with no share (0, or none
known yet) no call goes to it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Sequence

from ivr.config import Trunk
from ivr.pacing import MARGIN, Pacer
from scheduler.outcome import Outcome

log = logging.getLogger(__name__)

# outcomes that say nothing reached a phone: the trunk's trouble, not hers
TRUNK_TROUBLE = frozenset({Outcome.CONGESTION, Outcome.FAILED})
MAX_REST = 600.0


class Lane:
    """One trunk's way out: its pacer, the claimed calls waiting at it (they pass the gate
    one at a time, in claim order, right before their Originate is written), and its
    health: calls failed in a row, and the rest they earned."""

    def __init__(self, trunk: Trunk):
        self.trunk = trunk
        self.pacer = Pacer(trunk.cps, trunk.channels)
        self.queued = 0                   # claimed calls not yet through the pacer
        self.gate = asyncio.Lock()
        self.failures = 0                 # calls in a row that failed on the trunk
        self.rests = 0                    # rests in a row (each twice the one before)
        self.resting_until: float | None = None
        # this node's share of a shared trunk's cps (None: not shared); 0 until the first
        # heartbeat has read the other nodes' shares
        self.cps_share: float | None = None if trunk.shared_cps is None else 0.0
        self._higher: tuple[float, float] | None = None   # (share, until): see used_share

    def share(self, cps: float, now: float) -> None:
        """This node may use `cps` call set-ups per second of the shared trunk (0: none)."""
        old = self.cps_share or 0.0
        if cps < old:
            self._higher = (max(old, self.used_share(now)), now + 1.0 + MARGIN)
        self.cps_share = cps
        if cps > 0:
            self.pacer.set_cps(cps)

    def used_share(self, now: float) -> float:
        """The share the other nodes must count for this node: the highest it used in the
        last second (the pacer's window still holds set-ups made at a higher share), so a
        node that lowers its share frees the difference only a second later."""
        share = self.cps_share or 0.0
        if self._higher is not None and now < self._higher[1]:
            return max(share, self._higher[0])
        return share

    @property
    def paused(self) -> bool:
        """A shared trunk of which this node has no share now."""
        return self.cps_share is not None and self.cps_share <= 0

    @property
    def trying(self) -> bool:
        """It rested (or is resting): one call at a time tries it again, once the calls
        placed before the rest have ended."""
        return 0 < self.trunk.rest_after <= self.failures

    def room(self, now: float) -> int:
        """How many more calls to claim for this trunk now: at most one second's worth
        waits at the pacer, so a callback claimed next is never more than about a second
        behind; none while it rests or has no share, one at a time while it is tried
        again."""
        if self.paused:
            return 0
        if self.trying:
            resting = self.resting_until is not None and now < self.resting_until
            return 0 if resting or self.pacer.live or self.queued else 1
        return min(self.pacer.free, max(int(self.pacer.cps), 1)) - self.queued

    def accepts(self, now: float) -> bool:
        """A call could go through now, or as soon as the pacer lets it."""
        if self.trying or self.paused:
            return self.room(now) > 0
        return self.pacer.free - self.queued > 0

    def reached(self, now: float) -> None:
        """A call through this trunk reached a phone (it rings, or she answered): a trunk
        being tried again is well, so its other calls need not wait for this one to end."""
        if self.failures or self.resting_until is not None:
            if self.trying:
                log.info("trunk %s: calls get through again", self.trunk.name)
            self.failures, self.rests, self.resting_until = 0, 0, None

    def ended(self, outcome: Outcome, now: float) -> None:
        """A call placed through this trunk ended with `outcome`."""
        if outcome not in TRUNK_TROUBLE:
            if self.trying:
                log.info("trunk %s: calls get through again", self.trunk.name)
            self.failures, self.rests, self.resting_until = 0, 0, None
            return
        self.failures += 1
        if not self.trying or (self.resting_until is not None and now < self.resting_until):
            return              # not enough yet, or a call placed before the rest began
        self.rests += 1
        rest = min(self.trunk.rest_seconds * 2 ** min(self.rests - 1, 10),
                   max(MAX_REST, self.trunk.rest_seconds))
        self.resting_until = now + rest
        log.warning("trunk %s: %d calls in a row failed (%s): resting %.0f s",
                    self.trunk.name, self.failures, outcome.value, rest)


def assign(lanes: Sequence[Lane], count: int, now: float) -> list[Lane]:
    """The lanes for `count` claimed calls (at most the lanes' room together): each goes to
    the first lane with room, which queues it."""
    chosen = []
    for _ in range(count):
        lane = next(lane for lane in lanes if lane.room(now) > 0)
        lane.queued += 1
        chosen.append(lane)
    return chosen
