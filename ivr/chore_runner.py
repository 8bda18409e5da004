"""The chores of `ivr run`'s turn (retention, the absence sweep, the report's rollup and
engagement summary), each run so that its own failure never stops the service's calls."""
from __future__ import annotations

import logging
from typing import Awaitable

from ivr.adapters.log_throttle import LogThrottle
from ivr.adapters.store import UNAVAILABLE_ERRORS

CHORE_LOG_EVERY = 600.0      # a failing chore is logged at most once in this many seconds


class ChoreRunner:
    """Runs a chore of the turn: its own failure is logged on `log` (at most once every
    CHORE_LOG_EVERY seconds a chore) and the turn goes on to the calls. The database away
    is not the chore's failure: it is raised (the loop's back-off, as for every statement)."""

    def __init__(self, log: logging.Logger, every: float = CHORE_LOG_EVERY):
        self.log = log
        self.every = every
        self._logs: dict[str, LogThrottle] = {}

    async def run(self, name: str, work: Awaitable[object]) -> bool:
        """True when it did its work (a chore that fails is never asked again at once)."""
        try:
            await work
        except UNAVAILABLE_ERRORS:
            raise
        except Exception as e:
            throttle = self._logs.setdefault(
                name, LogThrottle(self.log, logging.ERROR, every=self.every))
            throttle.log("%s failed, the calls go on: %s: %s", name, type(e).__name__, e)
            return False
        return True
