"""systemd's notify protocol (sd_notify) without a C library: datagrams to $NOTIFY_SOCKET.

`ivr run` under `Type=notify` says READY=1 at the dial loop's first turn, WATCHDOG=1 every
half $WATCHDOG_USEC while the loop's heartbeat is fresh (a hung loop stops the pings and
systemd restarts the service), and STOPPING=1 when it starts to drain. Outside systemd
(no NOTIFY_SOCKET) every call does nothing.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, Mapping

log = logging.getLogger(__name__)

HEARTBEAT_FRESH = 90.0    # the dial loop turns at least every 30 s (service.MAX_SLEEP) plus a
                          # claim that may wait for the store's busy timeout (30 s)
READY_POLL = 0.2          # how often to look for the first turn when there is no watchdog


class Notifier:
    """The notify socket of this process, if systemd gave one."""

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]               # an abstract socket
        elif address and not address.startswith("/"):
            log.warning("NOTIFY_SOCKET %r is neither a path nor an abstract socket: ignored",
                        address)
            address = ""
        self.address = address or None
        self.watchdog_interval: float | None = None
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_interval = int(usec) / 2e6     # ping at half the timeout
        self._warned = False

    def notify(self, state: str) -> bool:
        """Send one state ("READY=1"...); False when there is no socket or it failed (the
        service goes on: a lost notification is systemd's to notice, not a reason to stop)."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self.address)
                s.sendall(state.encode())
        except OSError as e:
            if not self._warned:
                log.warning("cannot notify systemd on %r: %s", self.address, e)
                self._warned = True
            return False
        return True


class Supervisor:
    """What `ivr run` tells systemd: READY=1 once heartbeat() gives a time (the dial loop's
    first turn), WATCHDOG=1 every watchdog interval while heartbeat() is at most `fresh`
    seconds old, STOPPING=1 once `stop` is set (the pings go on while it drains: systemd's
    TimeoutStopSec bounds the drain)."""

    def __init__(self, notifier: Notifier, heartbeat: Callable[[], float | None],
                 stop: asyncio.Event, *, clock: Callable[[], float] = time.time,
                 fresh: float = HEARTBEAT_FRESH):
        self.notifier = notifier
        self.heartbeat = heartbeat
        self.stop = stop
        self.clock = clock
        self.fresh = fresh
        self.ready = False
        self.stopping = False

    def tick(self) -> float | None:
        """Say what is due now; returns the seconds until the next tick (None: nothing more
        to say until `stop` is set, or ever once it is)."""
        beat = self.heartbeat()
        if not self.ready and beat is not None:
            self.ready = True
            self.notifier.notify("READY=1")
        if self.stop.is_set():
            self.say_stopping()
        interval = self.notifier.watchdog_interval
        if interval is not None and beat is not None and (
                self.stopping or self.clock() - beat <= self.fresh):
            self.notifier.notify("WATCHDOG=1")
        if interval is not None:
            return interval if self.ready else min(interval, READY_POLL)
        return None if self.ready or self.stopping else READY_POLL

    def say_stopping(self) -> None:
        if not self.stopping:
            self.stopping = True
            self.notifier.notify("STOPPING=1")

    async def run(self) -> None:
        while True:
            wait = self.tick()
            if wait is None and self.stopping:
                return
            if self.stopping:
                await asyncio.sleep(wait or 0.0)
                continue
            try:
                await asyncio.wait_for(self.stop.wait(), wait)
            except asyncio.TimeoutError:
                pass


@asynccontextmanager
async def notifying(notifier: Notifier, heartbeat: Callable[[], float | None],
                    stop: asyncio.Event) -> AsyncIterator[Supervisor]:
    """The Supervisor's task while the body runs; STOPPING=1 at the end if not said yet (the
    service stopped by itself: --until-idle, or an error)."""
    supervisor = Supervisor(notifier, heartbeat, stop)
    task = asyncio.create_task(supervisor.run(), name="sd-notify")
    try:
        yield supervisor
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        supervisor.say_stopping()
