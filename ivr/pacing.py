"""Call pacing per trunk: at most `cps` call set-ups in any one-second window, and at most
`channels` calls at once. Pure: the time is passed in.

Carriers shut down trunks that exceed their calls-per-second cap, so the pacer is strict:
it never lets more than ceil(cps) originates into any sliding second, and spaces them
1/cps apart on average (a burst is never sent, even after an idle spell).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

# Times are floats: keep a microsecond clear of every limit so rounding never crosses one.
MARGIN = 1e-6


@dataclass
class Pacer:
    cps: float
    channels: int
    live: int = 0
    _next_at: float = float("-inf")            # earliest time of the next set-up
    _recent: deque = field(default_factory=deque)   # set-up times within the last second

    def __post_init__(self) -> None:
        if not self.cps > 0:
            raise ValueError(f"cps must be > 0, got {self.cps}")
        if self.channels < 1:
            raise ValueError(f"channels must be >= 1, got {self.channels}")

    def set_cps(self, cps: float) -> None:
        """A new cap from now on (a node's share of a shared trunk, ivr/nodes.py): the
        sliding second counts the set-ups already made against it at once."""
        if not cps > 0:
            raise ValueError(f"cps must be > 0, got {cps}")
        self.cps = cps

    @property
    def free(self) -> int:
        return max(self.channels - self.live, 0)

    def delay(self, now: float) -> float:
        """Seconds to wait before the next set-up may go (0: now). Infinite when every
        channel is busy: wait for a call to end instead."""
        if self.free == 0:
            return math.inf
        while self._recent and self._recent[0] + 1.0 + MARGIN <= now:
            self._recent.popleft()
        wait = max(self._next_at - now, 0.0)
        cap = math.ceil(self.cps)
        if len(self._recent) >= cap:
            wait = max(wait, self._recent[len(self._recent) - cap] + 1.0 + MARGIN - now)
        return wait

    def take(self, now: float) -> None:
        """A call set-up goes now (the caller waited delay(now) first)."""
        if self.free == 0:
            raise RuntimeError("no free channel")
        self.live += 1
        self._recent.append(now)
        step = 1.0 / self.cps
        # a set-up that comes a little late (a timer wakes up late) keeps the schedule, so
        # the lateness does not pile up; after idle time the schedule starts again from now
        on_time = self._next_at <= now < self._next_at + step
        self._next_at = (self._next_at if on_time else max(self._next_at, now)) + step + MARGIN

    def done(self) -> None:
        """A call ended: its channel is free again."""
        if self.live <= 0:
            raise RuntimeError("done() without a live call")
        self.live -= 1
