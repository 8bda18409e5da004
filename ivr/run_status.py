"""The running service's status: its counters (Stats), the status dict `ivr status`, the
metrics and the health checks read (ivr/status.py, ivr/metrics.py), and the file it is
written to every second (<home>/run/status.json) while the service runs, its drain included
(a draining service is alive: `ivr status` must not call it hung)."""
from __future__ import annotations

import asyncio
import json
import os
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ivr.adapters.ami import AmiGateway
from ivr.database_watch import DatabaseWatch
from ivr.lanes import Lane

STATUS_EVERY = 1.0


@dataclass
class Stats:
    started_at: float
    placed: int = 0
    outcomes: Counter = field(default_factory=Counter)
    errors: deque = field(default_factory=lambda: deque(maxlen=10))
    missed_calls: int = 0
    callbacks: int = 0
    loop_errors: int = 0              # turns of the dial loop that failed
    errors_in_a_row: int = 0
    backoff_until: float | None = None
    stale_closed: int = 0             # live attempts left by dead processes, closed here
    not_placed: int = 0               # claimed calls Asterisk refused: undone, not counted
    left_live: int = 0                # calls still up when a stop's deadline came

    def error(self, at: float, text: str) -> None:
        self.errors.append({"at": at, "error": text})


class StatusWriter:
    """`heartbeat`: when the dial loop last turned (the health hook); `database`: whether
    the service's writes find the database (database_down_since)."""

    def __init__(self, path: Path, *, owner: str, stats: Stats, lanes: Sequence[Lane],
                 ami: AmiGateway, heartbeat: Callable[[], float | None],
                 clock: Callable[[], float], database: DatabaseWatch | None = None):
        self.path = path
        self.owner = owner
        self.stats = stats
        self.lanes = lanes
        self.ami = ami
        self.heartbeat = heartbeat
        self.database = database
        self.clock = clock
        self.ami_down_since: float | None = None

    def status(self) -> dict:
        stats, ami = self.stats, self.ami
        return {
            "pid": os.getpid(), "owner": self.owner, "updated_at": self.clock(),
            "started_at": stats.started_at, "ami_connected": ami.connected,
            "trunks": {lane.trunk.name: {
                "live": lane.pacer.live, "channels": lane.trunk.channels, "cps": lane.trunk.cps,
                "failed_in_a_row": lane.failures, "resting_until": lane.resting_until,
                "shared_cps": lane.trunk.shared_cps, "cps_share": lane.cps_share}
                for lane in self.lanes},
            "placed": stats.placed, "outcomes": dict(stats.outcomes),
            "missed_calls": stats.missed_calls, "callbacks": stats.callbacks,
            "errors": list(stats.errors),
            "loop_errors": stats.loop_errors,
            "errors_in_a_row": stats.errors_in_a_row,
            "backoff_until": stats.backoff_until,
            "stale_closed": stats.stale_closed,
            "not_placed": stats.not_placed,
            "ami_reconnects": ami.reconnects,
            "loop_at": self.heartbeat(), "ami_down_since": self.ami_down_since,  # health hook
            "database_down_since": self.database.down_since if self.database else None,
        }

    async def run(self) -> None:
        """Every second until cancelled (after the drain)."""
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        while True:
            if self.ami.connected:                                   # health hook
                self.ami_down_since = None
            elif self.ami_down_since is None:
                self.ami_down_since = self.clock()
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.status(), sort_keys=True))
            os.replace(tmp, path)
            await asyncio.sleep(STATUS_EVERY)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
