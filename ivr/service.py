"""`ivr run`: the calling service, composed of its four parts:

- the dial loop (ivr/dial_loop.py): claim, pace, place, release, back off, drain;
- the missed-call intake (ivr/intake.py): the dialplan's events and the spool become
  callback requests;
- crash recovery (ivr/recovery.py): the live attempts of dead processes are closed, at
  start-up and on the loop's periodic sweep;
- the status writer (ivr/run_status.py): the status dict and its file, every second;
- the node's heartbeat (ivr/node_heartbeat.py): its row of the nodes table, and its share
  of each trunk shared by the nodes.

SIGTERM drains: no new calls, live ones go on up to the drain deadline, then the process
exits.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable, Sequence

from ivr import constants as C
from ivr.app import Service
from ivr.config import Trunk
from ivr.dial_loop import DialLoop
from ivr.intake import MissedCallEvents, MissedCallIntake
from ivr.lanes import Lane
from ivr.node_heartbeat import NodeHeartbeat
from ivr.owner import owner_id
from ivr.recovery import Recovery
from ivr.run_status import Stats, StatusWriter
from ivr.schedule import Schedule

DRAIN_SECONDS = C.DRAIN_SECONDS


class Dialer:
    """`trunks`: in order of preference; each claimed call goes to the first with room, so
    a later trunk takes what the earlier ones cannot (their channels or CPS are full)."""

    def __init__(self, service: Service, schedule: Schedule, trunks: Sequence[Trunk], *,
                 lease_seconds: float, region: str = "IN",
                 clock: Callable[[], float] = time.time, owner: str | None = None):
        if not trunks:
            raise ValueError("a Dialer needs at least one trunk")
        self.service = service
        self.schedule = schedule
        self.owner = owner or owner_id(service.config.node)
        self.clock = clock
        self.stats = Stats(started_at=clock())
        self.lanes = [Lane(t) for t in trunks]
        self.recovery = Recovery(service, schedule, self.owner, self.stats, clock)
        self.intake = MissedCallIntake(service.store, schedule, service.config.spool,
                                       region=region, clock=clock,
                                       regions=[p.region for p in service.schedule.programmes],
                                       woken=lambda: self.wake.set())   # claim it now
        self.loop = DialLoop(service, schedule, self.lanes, self.stats, recovery=self.recovery,
                             intake=self.intake, lease_seconds=lease_seconds,
                             owner=self.owner, clock=clock)
        self.wake = self.loop.wake
        controller = service.controller
        controller.user_event_handlers.append(
            MissedCallEvents(self.intake, self.stats, self.loop.chores, clock))
        controller.login_handlers.append(self.wake.set)          # AMI back: calls resume
        self.status_writer = StatusWriter(
            service.config.home / "run" / "status.json", owner=self.owner, stats=self.stats,
            lanes=self.lanes, ami=controller.ami, heartbeat=lambda: self.loop.loop_at,
            clock=clock, database=controller.database)
        self.heartbeat = NodeHeartbeat(
            service.store, node=service.config.node, owner=self.owner,
            every=service.config.heartbeat_seconds, lanes=self.lanes, stats=self.stats,
            clock=clock, woken=self.wake.set)

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False,
                  idle_horizon: float = 60.0, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Call until `stop` is set (or, with until_idle, until idle: see DialLoop.run),
        then drain; the status file and the node's heartbeat are written all along; at the
        end the file is removed and, on a clean exit, the node's row marked stopped."""
        await self.heartbeat.check_name()           # one process per node name
        await self.heartbeat.beat()                 # a shared trunk starts with its share
        status = asyncio.create_task(self.status_writer.run())
        beating = asyncio.create_task(self.heartbeat.run())
        try:
            await self.loop.run(stop, until_idle=until_idle, idle_horizon=idle_horizon,
                                drain_seconds=drain_seconds)
        finally:
            for task in (status, beating):
                task.cancel()
            await asyncio.gather(status, beating, return_exceptions=True)
            self.status_writer.remove()
        await self.heartbeat.stopped()

    async def drain(self, deadline_seconds: float = DRAIN_SECONDS) -> None:
        await self.loop.drain(deadline_seconds)

    async def handle_waiting_missed_calls(self) -> int:
        """Missed calls spooled while no service was running, or whose event was lost or
        whose database write failed (start-up and the periodic sweep)."""
        return await self.intake.sweep()

    async def reconcile(self) -> int:
        """Close the live attempts dead processes left behind (ivr/recovery.py)."""
        return await self.recovery.reconcile()

    def status(self) -> dict:
        return self.status_writer.status()

    # --- observability hooks (ivr/metrics.py, ivr/notify.py, ivr status' health) ---
    @property
    def metrics(self):
        return self.loop.metrics

    @metrics.setter
    def metrics(self, metrics) -> None:
        self.loop.metrics = metrics

    @property
    def loop_at(self) -> float | None:
        return self.loop.loop_at

    @property
    def ami_down_since(self) -> float | None:
        return self.status_writer.ami_down_since
