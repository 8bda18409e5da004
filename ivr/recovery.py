"""Crash recovery: the live attempts that dead processes left behind (a crashed `ivr run`, a
killed `ivr call test`) are closed, at start-up and on the service's periodic sweep.

An attempt row carries its owner (ivr/owner.py). Attempts of a live process, or of another host
(their lease decides, by the one reap rule), are left alone.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Callable

from ivr import constants as C
from ivr.adapters.ami import AmiError, Channel
from ivr.owner import owner_state
from ivr.schedule import Schedule
from scheduler.model import Attempt
from scheduler.rules import reaped

log = logging.getLogger(__name__)

# Where a channel left by a dead owner is answered and in good hands: with the call centre, or
# hearing her message (or the apology) from the dialplan's fallback. Never hang it up.
ANSWERED_CONTEXTS = frozenset({C.CONTEXT_CALL_CENTRE, C.CONTEXT_AGI_FAILED, C.CONTEXT_APOLOGY})


class Recovery:
    def __init__(self, service, schedule: Schedule, owner: str, stats,
                 clock: Callable[[], float]):
        """`service`: ivr.app.Service; `stats`: the service's (ivr.run_status.Stats: errors,
        stale_closed)."""
        self.service = service
        self.schedule = schedule
        self.owner = owner
        self.stats = stats
        self.clock = clock

    async def reconcile(self) -> int:
        """Close the live attempts that dead processes left behind (a crashed `ivr run`, a
        killed `ivr call test`); attempts of a live process, or of another host (its lease
        decides), are left alone. A channel such an attempt left in Asterisk is hung up,
        unless she is with the call centre or in the dialplan's fallback (her message
        or the apology): her call goes on. The attempt is closed as answered when her answer
        was written (the route had her call), else as failed. Every
        stale row is closed, whatever it holds: a row that cannot be released to the
        scheduler (no woman behind it) is closed as it is, and counted. When Asterisk cannot
        list its channels, nothing is closed this time (a call may still ring): the next
        sweep tries again. Returns how many were closed."""
        live = [a for a in await self.schedule.live_attempts()
                if a.acquired_by != self.owner and owner_state(a.acquired_by) == "dead"]
        if not live:
            return 0
        try:
            channels = await self.service.controller.ami.channels()
        except (AmiError, asyncio.TimeoutError) as e:
            log.error("%d attempt(s) of dead processes left for the next sweep: cannot list "
                      "Asterisk's channels (%s)", len(live), e)
            return 0
        closed = 0
        for attempt in live:
            try:
                await self._close_stale(attempt, channels)
                closed += 1
            except Exception as e:                # noqa: BLE001 - one row must not stop us
                log.error("attempt %s of a dead owner could not be closed: %r", attempt.id, e)
                self.stats.error(self.clock(), f"attempt {attempt.id} stale: {e!r}"[:200])
        self.stats.stale_closed += closed
        return closed

    async def _close_stale(self, attempt: Attempt, channels: list[Channel]) -> None:
        row = await self.service.store.attempt(attempt.id)
        prefix = f"ivr-{attempt.id}-"
        ours = [c for c in channels if c.uniqueid.startswith(prefix)]
        kept = [c.context for c in ours if c.context in ANSWERED_CONTEXTS]
        if kept:
            log.warning("attempt %s: her call goes on (%s)", attempt.id, kept[0])
        else:
            # still ringing, or stuck: answered later, it would reach a controller that no
            # longer knows it (and the attempt, closed now, would be retried: heard twice)
            for c in ours:
                if not c.uniqueid.endswith("-2"):
                    log.warning("attempt %s: hanging up its orphaned channel", attempt.id)
                    await self.service.controller.hang_up(c.name)
        # her answer is written before the route plays anything, and the dialplan's fallback
        # plays her message only then: a call in the fallback whose answer is not written
        # heard the apology only (ivr-fallback.conf case (a)): failed, she is called again
        outcome = reaped(bool(row and row.answered_at))      # the one reap rule
        # what she heard travels in the call's report to the one closing write: a call the
        # service left up at its stop deadline has it in its row (call_records.left_live);
        # a process killed mid-call took it along (unknown: None)
        heard = row.heard_share if row else None
        if attempt.subscriber_id is None:
            # nobody to schedule (a test call): close the row as it is
            await self.service.store.attempt_ended(attempt.id, at=self.clock(), outcome=outcome)
        else:
            await self.schedule.release(attempt.id, outcome, heard,
                                        datetime.fromtimestamp(self.clock(), timezone.utc))
        log.warning("attempt %s of a dead owner (%s) closed as %s", attempt.id,
                    attempt.acquired_by or "nobody", outcome.value)
