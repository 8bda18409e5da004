"""The node's heartbeat in `ivr run`: every [run] heartbeat_seconds it writes its row of the
nodes table (ivr/adapters/nodes.py): its live calls per trunk, its share of each shared
trunk and its latest error (numbers masked), after reading every node's row to set its
share of each shared trunk (the rule: ivr/nodes.py cps_share; a lower share is used at once,
a higher one only once written and confirmed: see beat()). On a clean exit it marks its row
stopped.

A heartbeat that fails (the database is locked or gone) is logged, at most once a minute, and
never stops the service: the next one tries again. But a node whose row has not been written
for FENCE_BEATS intervals stops using its shared trunks (its share becomes 0) until a
heartbeat succeeds again: the other nodes call it stale after STALE_BEATS intervals and share
the cap without it, so it must have let go of its share by then. (Its other trunks go on; and
without the database no call can be claimed anyway.)
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Callable, Mapping, Sequence

from ivr.adapters import nodes as node_rows
from ivr.adapters.log_throttle import LogThrottle
from ivr.adapters.store import Store
from ivr.lanes import Lane
from ivr.logs import mask_numbers
from ivr.errors import Unavailable
from ivr.nodes import STALE_BEATS, NodeRow, cps_share, name_taken
from ivr.owner import owner_state
from ivr.run_status import Stats

log = logging.getLogger(__name__)

FENCE_BEATS = STALE_BEATS - 1
ERROR_CHARS = 200


class NodeNameTaken(Unavailable):
    """Another process runs as this node now; the message names it."""


class NodeHeartbeat:
    """`woken`: called when a shared trunk's share grows (the dial loop may claim more)."""

    def __init__(self, store: Store, *, node: str, owner: str, every: float,
                 lanes: Sequence[Lane], stats: Stats, clock: Callable[[], float],
                 woken: Callable[[], None] = lambda: None):
        self.store = store
        self.node = node
        self.owner = owner
        self.every = every
        self.lanes = lanes
        self.stats = stats
        self.clock = clock
        self.woken = woken
        self.written_at: float | None = None      # the last heartbeat that was written
        self.failures = LogThrottle(log, logging.ERROR, every=60.0)

    def row(self, now: float, targets: Mapping[str, float]) -> NodeRow:
        """This node's row as it is now; `targets`: the shares it is about to take (a raise
        counts for the others before it is used)."""
        last = self.stats.errors[-1] if self.stats.errors else None
        return NodeRow(
            name=self.node, host=socket.gethostname(), pid=os.getpid(), owner=self.owner,
            started_at=self.stats.started_at, heartbeat_at=now, heartbeat_every=self.every,
            live_calls={lane.trunk.name: lane.pacer.live for lane in self.lanes},
            cps_shares={lane.trunk.name: max(lane.used_share(now), targets[lane.trunk.name])
                        for lane in self.lanes if lane.cps_share is not None},
            last_error=mask_numbers(last["error"])[:ERROR_CHARS] if last else None,
            last_error_at=last["at"] if last else None)

    async def check_name(self) -> None:
        """Before the first heartbeat: NodeNameTaken when another process runs as this node
        (its heartbeat is alive, and it is not a process of this host known to be gone). Two
        processes under one name would share one row and one share of a shared trunk. A
        database that cannot be read is left to the heartbeat (logged, not raised)."""
        now = self.clock()
        try:
            rows = await node_rows.read_nodes(self.store)
        except Exception as e:                  # noqa: BLE001 - the heartbeat tries again
            log.error("node %s: could not read the nodes table (%r)", self.node, e)
            return
        other = name_taken(rows, self.node, host=socket.gethostname(), pid=os.getpid(),
                           now=now, dead=lambda owner: owner_state(owner) == "dead")
        if other is not None:
            raise NodeNameTaken(
                f"node {self.node} already runs on {other.host} (pid {other.pid}, heartbeat "
                f"{now - other.heartbeat_at:.0f} s ago): give this node its own name "
                "([ivr] node or IVR_NODE), or, if that process is gone, start again in "
                f"{other.heartbeat_at + STALE_BEATS * other.heartbeat_every - now:.0f} s")

    async def beat(self) -> bool:
        """One heartbeat: read every node's row and compute this node's shares; lower them
        at once; write its row (with the raised shares as its intent); then read again and
        raise only as far as the others' rows still allow. Of two nodes raising at once, the
        one reading last sees the other's intent, so together they never pass the cap.
        Never raises (False: it failed, and was logged)."""
        now = self.clock()
        shared = [lane for lane in self.lanes if lane.cps_share is not None]
        try:
            targets = await self._targets(shared, now)
            self._set_shares(targets, now, only_lower=True)
            await node_rows.write_heartbeat(self.store, self.row(now, targets))
            self.written_at = now
            rising = [lane for lane in shared if targets[lane.trunk.name] > (lane.cps_share or 0)]
            if rising:
                allowed = await self._targets(rising, now)
                self._set_shares({name: min(cps, targets[name]) for name, cps in allowed.items()},
                                 now, only_lower=False)
        except Exception as e:                  # noqa: BLE001 - the calls go on
            self.failures.log("node %s: heartbeat failed (%r); trying again every %.0f s",
                              self.node, e, self.every)
            if self.written_at is None or now - self.written_at > FENCE_BEATS * self.every:
                self._set_shares({lane.trunk.name: 0.0 for lane in shared}, now,
                                 only_lower=True)
            return False
        return True

    async def _targets(self, lanes: Sequence[Lane], now: float) -> dict[str, float]:
        """This node's share of each of `lanes`' trunks by the nodes' rows as they are now."""
        rows = await node_rows.read_nodes(self.store) if lanes else []
        return {lane.trunk.name: cps_share(
            lane.trunk.name, own_cps=lane.trunk.cps, shared_cps=lane.trunk.shared_cps or 0.0,
            me=self.node, rows=rows, now=now) for lane in lanes}

    def _set_shares(self, targets: Mapping[str, float], now: float, *,
                    only_lower: bool) -> None:
        """Apply the shares of `targets` (only those lower than now, with only_lower)."""
        grew = False
        for lane in self.lanes:
            cps, old = targets.get(lane.trunk.name), lane.cps_share
            if cps is None or old is None or cps == old or (only_lower and cps > old):
                continue
            log.info("node %s: trunk %s: %.2f call set-ups per second of its shared %g",
                     self.node, lane.trunk.name, cps, lane.trunk.shared_cps)
            grew = grew or cps > old
            lane.share(cps, now)
        if grew:
            self.woken()

    async def run(self) -> None:
        """A heartbeat every `every` seconds until cancelled (after the first one: beat(),
        awaited before the dial loop starts, so a shared trunk starts with its share)."""
        while True:
            await asyncio.sleep(self.every)
            await self.beat()

    async def stopped(self) -> None:
        """The node stops cleanly: its row says so (a failure is logged, not raised)."""
        try:
            if not await node_rows.mark_stopped(self.store, self.node, self.owner, self.clock()):
                log.warning("node %s: no row of this process to mark stopped (never written, "
                            "or another process took the name since)", self.node)
        except Exception as e:                  # noqa: BLE001 - the stop goes on
            log.error("node %s: could not mark the node stopped (%r)", self.node, e)
