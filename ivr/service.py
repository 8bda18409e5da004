"""`ivr run`: the calling service. Claims due attempts from the scheduling store, places them
through the controller within each trunk's limits, releases each with its outcome, turns
missed calls into callbacks, and sleeps until the next due time or a wake-up.

Crash safety: every attempt row exists (leased to this process) before its Originate goes
out. At start-up, live attempts of a dead owner are reconciled: their channels, if Asterisk
still has them, are hung up (their FastAGI session died with the owner), and each is released
as answered (when it was: so nobody hears the same message twice) or failed (retried by the
policy). SIGTERM drains: no new calls, live ones finish, then the process exits.
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import socket
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from ivr import constants as C
from ivr.adapters import subscribers
from ivr.adapters.ami import AmiError
from ivr.app import Service
from ivr.config import Trunk
from ivr.controller import CallRequest
from ivr.intake import MissedCallIntake
from ivr.lanes import Lane, assign
from ivr.protocol.ami import UserEvent
from ivr.schedule import Schedule
from scheduler.model import Attempt, AttemptKind
from scheduler.outcome import Outcome

log = logging.getLogger(__name__)

MAX_SLEEP = 30.0          # re-check at least this often (plans written by other processes)
STATUS_EVERY = 1.0
SWEEP_EVERY = 30.0        # look for missed calls recorded without an event reaching us


class RunError(Exception):
    """The service cannot run (another instance holds the lock...)."""


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}"


@dataclass
class Stats:
    started_at: float
    placed: int = 0
    outcomes: Counter = field(default_factory=Counter)
    errors: deque = field(default_factory=lambda: deque(maxlen=10))
    missed_calls: int = 0
    callbacks: int = 0

    def error(self, at: float, text: str) -> None:
        self.errors.append({"at": at, "error": text})


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
        self.lanes = [Lane(t) for t in trunks]
        self.region = region
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.owner = owner or owner_id()
        self.wake = asyncio.Event()
        self.stats = Stats(started_at=clock())
        self._calls: set[asyncio.Task] = set()
        self._swept_at = clock()
        self._chores: set[asyncio.Task] = set()
        self.intake = MissedCallIntake(service.store, schedule, service.config.spool,
                                       region=region, clock=clock, woken=self.wake.set)
        service.controller.user_event_handlers.append(self._on_user_event)

    # ------------------------------------------------------------------ the loop
    async def run(self, stop: asyncio.Event, *, until_idle: bool = False,
                  idle_horizon: float = 60.0) -> None:
        """Call until `stop` is set, or, with until_idle, until no call is live and nothing
        falls due within idle_horizon seconds (demos and tests)."""
        await self.reconcile()
        await self.handle_waiting_missed_calls()
        status = asyncio.create_task(self._write_status(stop))
        try:
            while not stop.is_set():
                now = self.clock()
                await self.schedule.run_plans(utc(now))
                await self.schedule.reap(utc(now))
                if now - self._swept_at >= SWEEP_EVERY:     # safety net: events can be lost
                    self._swept_at = now
                    await self.handle_waiting_missed_calls()
                full = await self._dial_due(stop)
                wake_at = await self.schedule.next_wake()
                if until_idle and not self._calls and not self._chores and (
                        wake_at is None or wake_at.timestamp() > self.clock() + idle_horizon):
                    break
                await self._sleep(stop, wake_at, more_due=full)
        finally:
            await self.drain()
            status.cancel()
            await asyncio.gather(status, return_exceptions=True)
            self._status_file().unlink(missing_ok=True)

    async def _sleep(self, stop: asyncio.Event, wake_at: datetime | None,
                     more_due: bool = False) -> None:
        """more_due: the last claim was full, so more calls are due now: wait only for the
        pacer (a floor here would cost the CPS at every claim: bench/results/service.md)."""
        now = self.clock()
        timeout = MAX_SLEEP
        if wake_at is not None:
            timeout = min(timeout, max(wake_at.timestamp() - now, 0.0))
        open_lanes = [lane for lane in self.lanes if lane.accepts(now)]
        if not open_lanes:
            # a call ending sets `wake`; the end of a trunk's rest does not
            rest_ends = [lane.resting_until - now for lane in self.lanes
                         if lane.resting_until is not None and lane.resting_until > now]
            timeout = min([MAX_SLEEP, *rest_ends])
        elif timeout <= 0:
            delay = min(lane.pacer.delay(now) for lane in open_lanes)
            timeout = max(delay, 0.0 if more_due else 0.05)
        waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        self.wake.clear()

    async def _dial_due(self, stop: asyncio.Event) -> bool:
        """Claim at most one second's worth of calls (callbacks come first in every claim, so
        a missed call never waits behind a long batch) and start them; each passes the pacer
        right before its Originate is written. True when the claim was full (more may be
        due)."""
        now = self.clock()
        limit = sum(max(lane.room(now), 0) for lane in self.lanes)
        if limit <= 0 or not self.service.controller.ami.connected:
            return False
        attempts = await self.schedule.claim(utc(now), self.owner, limit)
        for attempt, lane in zip(attempts, assign(self.lanes, len(attempts), now)):
            task = asyncio.create_task(self._call(attempt, lane), name=f"attempt-{attempt.id}")
            self._calls.add(task)
            task.add_done_callback(self._call_done)
        return len(attempts) == limit

    def _call_done(self, task: asyncio.Task) -> None:
        self._calls.discard(task)
        self.wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed: %r", task.exception())
            self.stats.error(self.clock(), repr(task.exception())[:200])

    async def _call(self, attempt: Attempt, lane: Lane) -> None:
        taken = False

        async def gate() -> None:
            nonlocal taken
            async with lane.gate:
                delay = lane.pacer.delay(self.clock())
                if delay > 0:
                    await asyncio.sleep(delay)          # pacing: the carrier's CPS cap
                lane.pacer.take(self.clock())
                lane.queued -= 1
                taken = True
                self.stats.placed += 1

        try:
            outcome = await self._place(attempt, lane.trunk, gate)
            if taken and outcome is not None:
                lane.ended(outcome, self.clock())
        finally:
            if taken:
                lane.pacer.done()
            else:
                lane.queued -= 1

    async def _place(self, attempt: Attempt, trunk: Trunk, gate) -> Outcome | None:
        """The call's outcome, for the trunk's health (None: never placed, or the AMI link
        dropped, which says nothing of the trunk)."""
        store = self.service.store
        sub = await subscribers.get_subscriber(store, attempt.subscriber_id)
        if sub is None:
            await self.schedule.release(attempt.id, Outcome.FAILED, None, utc(self.clock()))
            return None
        request = CallRequest(
            phone=sub.phone, language=sub.language, message_key=attempt.message_key,
            trunk=trunk, kind=attempt.kind.value, subscriber_id=sub.id,
            delivery_id=attempt.delivery_id, number=attempt.number)
        keeper = asyncio.create_task(self._keep_lease(attempt))
        try:
            report = await self.service.controller.place_call(request, attempt.id, gate)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        self.stats.outcomes[report.outcome.value] += 1
        if attempt.kind is AttemptKind.CALLBACK:
            self.stats.callbacks += 1
        await self.schedule.release(attempt.id, report.outcome, report.heard_share,
                                    utc(report.ended_at))
        return None if report.link_lost else report.outcome

    async def _keep_lease(self, attempt: Attempt) -> None:
        """Renew the claim at half its length while the call goes on (a long call is not a
        dead owner's)."""
        lease = self.lease_seconds
        while True:
            await asyncio.sleep(lease / 2)
            until = utc(self.clock() + lease)
            if not await self.schedule.extend(attempt.id, self.owner, until):
                return

    async def drain(self) -> None:
        """No new calls; let the live ones finish (they release themselves)."""
        if self._calls or self._chores:
            log.info("draining: %d live call(s)", len(self._calls))
        await asyncio.gather(*self._calls, *self._chores, return_exceptions=True)

    # ------------------------------------------------------------------ missed calls
    # (the intake of Asterisk's missed-call spool lives in ivr/intake.py)
    def _on_user_event(self, event: UserEvent) -> None:
        if event.name != C.USEREVENT_MISSED_CALL:
            return
        task = asyncio.create_task(self._missed_call(event.headers))
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _missed_call(self, headers) -> None:
        """The dialplan's IvrMissedCall event: its spool file is ingested at once."""
        self.stats.missed_calls += 1
        try:
            await self.intake.on_event(headers)
        except Exception as e:          # a chore's failure must reach the log and the status
            log.error("missed-call intake failed: %r", e)
            self.stats.error(self.clock(), repr(e)[:200])

    async def handle_waiting_missed_calls(self) -> int:
        """Missed calls spooled while no service was running, or whose event was lost or
        whose database write failed (start-up and the periodic sweep)."""
        return await self.intake.sweep()

    # ------------------------------------------------------------------ crash recovery
    async def reconcile(self) -> int:
        """Close the live attempts a dead owner left behind. Returns how many."""
        live = [a for a in await self.schedule.live_attempts() if a.acquired_by != self.owner]
        if not live:
            return 0
        try:
            channels = await self.service.controller.ami.channels()
        except AmiError as e:
            log.error("cannot list Asterisk's channels to reconcile: %s", e)
            channels = []
        for attempt in live:
            prefix = f"ivr-{attempt.id}-"
            for name, uniqueid in channels:
                if uniqueid.startswith(prefix) and not uniqueid.endswith("-2"):
                    log.warning("attempt %s: hanging up its orphaned channel", attempt.id)
                    await self.service.controller.hang_up(name)
            row = await self.service.store.attempt(attempt.id)
            answered = bool(row and row.answered_at)
            await self.schedule.release(
                attempt.id, Outcome.ANSWERED if answered else Outcome.FAILED,
                row.heard_share if row else None, utc(self.clock()))
            log.warning("attempt %s of a dead owner closed as %s", attempt.id,
                        "answered" if answered else "failed")
        return len(live)

    # ------------------------------------------------------------------ status
    def _status_file(self) -> Path:
        return self.service.config.home / "run" / "status.json"

    def status(self) -> dict:
        return {
            "pid": os.getpid(), "owner": self.owner, "updated_at": self.clock(),
            "started_at": self.stats.started_at, "ami_connected": self.service.controller.ami.connected,
            "trunks": {lane.trunk.name: {
                "live": lane.pacer.live, "channels": lane.trunk.channels, "cps": lane.trunk.cps,
                "failed_in_a_row": lane.failures, "resting_until": lane.resting_until}
                for lane in self.lanes},
            "placed": self.stats.placed, "outcomes": dict(self.stats.outcomes),
            "missed_calls": self.stats.missed_calls, "callbacks": self.stats.callbacks,
            "errors": list(self.stats.errors),
        }

    async def _write_status(self, stop: asyncio.Event) -> None:
        path = self._status_file()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        while not stop.is_set():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.status(), sort_keys=True))
            os.replace(tmp, path)
            try:
                await asyncio.wait_for(stop.wait(), STATUS_EVERY)
            except asyncio.TimeoutError:
                pass


class RunLock:
    """One `ivr run` per state directory: an exclusive lock on <home>/run/ivr-run.lock."""

    def __init__(self, home: Path):
        self.path = home / "run" / "ivr-run.lock"
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunError(f"another `ivr run` is already running on {self.path.parent.parent}") \
                from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
