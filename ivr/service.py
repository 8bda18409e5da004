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
from ivr.callers import normalise_caller
from ivr.config import Trunk
from ivr.controller import CallRequest
from ivr.lanes import Lane, assign
from ivr.owner import owner_id, owner_state
from ivr.protocol.ami import UserEvent, mask
from ivr.schedule import Schedule
from scheduler.model import Attempt, AttemptKind, SchedulerError
from scheduler.outcome import Outcome

log = logging.getLogger(__name__)

MAX_SLEEP = 30.0          # re-check at least this often (plans written by other processes)
STATUS_EVERY = 1.0
SWEEP_EVERY = 30.0        # look for missed calls recorded without an event reaching us, and
                          # for live attempts of processes that died since (ivr call test)
BACKOFF_CAP = 30.0        # the dial loop's longest wait after errors in a row
DRAIN_SECONDS = C.DRAIN_SECONDS
# Where a channel left by a dead owner is with the call centre: never hang it up.
CALL_CENTRE_CONTEXTS = frozenset({C.CONTEXT_CALL_CENTRE})


class RunError(Exception):
    """The service cannot run (another instance holds the lock...)."""


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


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
    left_live: int = 0                # calls still up when a stop's deadline came

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
        self._reconciled = False
        service.controller.user_event_handlers.append(self._on_user_event)
        service.controller.login_handlers.append(self.wake.set)    # AMI back: calls resume

    # ------------------------------------------------------------------ the loop
    async def run(self, stop: asyncio.Event, *, until_idle: bool = False,
                  idle_horizon: float = 60.0, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Call until `stop` is set, or, with until_idle, until no call is live and nothing
        falls due within idle_horizon seconds (demos and tests). An error in a turn of the
        loop (the database locked past its timeout, a full disk) never ends the service: it
        is logged and shown by `ivr status`, and the loop tries again after a backoff."""
        status = asyncio.create_task(self._write_status(stop))
        try:
            while not stop.is_set():
                try:
                    wake_at, full = await self._turn()
                except Exception as e:            # noqa: BLE001 - the service must go on
                    await self._back_off(stop, e)
                    continue
                self.stats.errors_in_a_row, self.stats.backoff_until = 0, None
                if until_idle and not self._calls and not self._chores and (
                        wake_at is None or wake_at.timestamp() > self.clock() + idle_horizon):
                    break
                await self._sleep(stop, wake_at, more_due=full)
        finally:
            await self.drain(drain_seconds)
            status.cancel()
            await asyncio.gather(status, return_exceptions=True)
            self._status_file().unlink(missing_ok=True)

    async def _turn(self) -> tuple[datetime | None, bool]:
        """One turn of the loop: recover (once), plan, reap, missed calls, dial. Returns the
        next wake-up and whether the claim was full."""
        if not self._reconciled:
            await self.reconcile()
            await self.handle_waiting_missed_calls()
            self._reconciled = True
        now = self.clock()
        await self.schedule.run_plans(utc(now))
        await self.schedule.reap(utc(now))
        if now - self._swept_at >= SWEEP_EVERY:     # safety net: events can be lost
            self._swept_at = now
            await self.handle_waiting_missed_calls()
            # rows of processes that died since our start (a killed `ivr call test`)
            await self.reconcile()
        full = await self._dial_due()
        return await self.schedule.next_wake(), full

    async def _back_off(self, stop: asyncio.Event, error: Exception) -> None:
        """A turn failed: wait 1, 2, 4... up to BACKOFF_CAP seconds (or until stopped)."""
        stats = self.stats
        stats.loop_errors += 1
        stats.errors_in_a_row += 1
        delay = min(2.0 ** (stats.errors_in_a_row - 1), BACKOFF_CAP)
        stats.backoff_until = self.clock() + delay
        stats.error(self.clock(), f"dial loop: {error!r}"[:200])
        log.error("dial loop: %r; trying again in %.0f s (%d error(s) in a row)", error, delay,
                  stats.errors_in_a_row)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except asyncio.TimeoutError:
            pass

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

    async def _dial_due(self) -> bool:
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
            outcome = await self._place(attempt, lane.trunk, gate,
                                        on_reached=lambda: lane.reached(self.clock()))
            if taken and outcome is not None:
                lane.ended(outcome, self.clock())
        finally:
            if taken:
                lane.pacer.done()
            else:
                lane.queued -= 1

    async def _place(self, attempt: Attempt, trunk: Trunk, gate,
                     on_reached: Callable[[], None]) -> Outcome | None:
        """The call's outcome, for the trunk's health (None: never placed, or the AMI link
        dropped, which says nothing of the trunk)."""
        store = self.service.store
        sub = await subscribers.get_subscriber(store, attempt.subscriber_id)
        if sub is None:
            await self._release(attempt.id, Outcome.FAILED, None, self.clock())
            return None
        request = CallRequest(
            phone=sub.phone, language=sub.language, message_key=attempt.message_key,
            trunk=trunk, kind=attempt.kind.value, subscriber_id=sub.id,
            delivery_id=attempt.delivery_id, number=attempt.number)
        keeper = asyncio.create_task(self._keep_lease(attempt))
        try:
            report = await self.service.controller.place_call(request, attempt.id, gate,
                                                              on_reached)
            self.stats.outcomes[report.outcome.value] += 1
            if attempt.kind is AttemptKind.CALLBACK:
                self.stats.callbacks += 1
            # the lease is kept until the release is written: nobody reaps it meanwhile
            await self._release(attempt.id, report.outcome, report.heard_share, report.ended_at)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        return None if report.link_lost else report.outcome

    async def _release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                       ended_at: float) -> None:
        """Record the call's end with the scheduler's decisions. A write that fails (the
        database locked past its timeout, a full disk) is tried again with a backoff until
        it lands: the call happened, and its outcome decides her next call."""
        delay = 1.0
        while True:
            try:
                await self.schedule.release(attempt_id, outcome, heard_share, utc(ended_at))
                return
            except SchedulerError as e:           # closed meanwhile (reaped): nothing to do
                log.warning("attempt %s: not released: %s", attempt_id, e)
                return
            except Exception as e:                # noqa: BLE001 - retried, never lost
                self.stats.error(self.clock(), f"attempt {attempt_id} release: {e!r}"[:200])
                log.error("attempt %s: could not record its end (%r); trying again in %.0f s",
                          attempt_id, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)

    async def _keep_lease(self, attempt: Attempt) -> None:
        """Renew the claim at half its length while the call goes on (a long call is not a
        dead owner's)."""
        lease = self.lease_seconds
        while True:
            await asyncio.sleep(lease / 2)
            until = utc(self.clock() + lease)
            if not await self.schedule.extend(attempt.id, self.owner, until):
                return

    async def drain(self, deadline_seconds: float = DRAIN_SECONDS) -> None:
        """No new calls; let the live ones finish (they release themselves), for at most
        `deadline_seconds`. Calls still up then are left to Asterisk, their attempts live:
        the next start closes them without hanging up a woman who is still talking (to
        the call centre, say), and a call whose phone still rings is hung up there."""
        if self._calls or self._chores:
            log.info("draining: %d live call(s), at most %.0f s", len(self._calls),
                     deadline_seconds)
        pending = {*self._calls, *self._chores}
        if not pending:
            return
        done, left = await asyncio.wait(pending, timeout=deadline_seconds)
        if left:
            self.stats.left_live = len(left & self._calls)
            log.warning("stop deadline: %d call(s) still live, left to Asterisk; the next "
                        "start closes their attempts", self.stats.left_live)
            self.service.controller.leave_calls_up = True
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    # ------------------------------------------------------------------ missed calls
    def _on_user_event(self, event: UserEvent) -> None:
        if event.name != C.USEREVENT_MISSED_CALL:
            return
        task = asyncio.create_task(self._missed_call(event.headers))
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _missed_call(self, headers) -> None:
        """The dialplan's IvrMissedCall event. Its fallback AGI script has usually written the
        missed_calls row already (MissedCallId); if it could not, the row is written here,
        once per channel (Uniqueid)."""
        store = self.service.store
        self.stats.missed_calls += 1
        uniqueid = headers.get("Uniqueid") or None
        if not headers.get("MissedCallId") and not headers.get("Caller"):
            log.info("missed call with no caller ID: nobody to call back")
            return
        row_id = headers.get("MissedCallId", "")
        if row_id.isdigit() and uniqueid and not await store.fetchall(
                "SELECT 1 FROM missed_calls WHERE id = ? AND uniqueid = ?", (int(row_id), uniqueid)):
            row_id = ""            # the script wrote into another database (not ours)
        if not row_id.isdigit():
            await store.execute(
                "INSERT INTO missed_calls (phone, did, received_at, uniqueid) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (uniqueid) WHERE uniqueid IS NOT NULL DO NOTHING",
                (headers.get("Caller", "")[:16], headers.get("DID", "")[:32], self.clock(),
                 uniqueid))
            rows = await store.fetchall(
                "SELECT id FROM missed_calls WHERE uniqueid = ?", (uniqueid,)) \
                if uniqueid else await store.fetchall("SELECT MAX(id) FROM missed_calls")
            row_id = str(rows[0][0])
        await self._handle_missed(int(row_id))

    async def handle_waiting_missed_calls(self) -> int:
        """Missed calls the dialplan recorded while no service was running."""
        rows = await self.service.store.fetchall(
            "SELECT id FROM missed_calls WHERE handled_at IS NULL ORDER BY id")
        for row in rows:
            await self._handle_missed(row[0])
        return len(rows)

    async def _handle_missed(self, row_id: int) -> None:
        """One transaction: the event and the start-up sweep may meet on the same row."""
        async with self.service.store.transaction():
            await self._handle_missed_row(row_id)

    async def _handle_missed_row(self, row_id: int) -> None:
        store = self.service.store
        rows = await store.fetchall("SELECT phone, received_at, handled_at FROM missed_calls "
                                    "WHERE id = ?", (row_id,))
        if not rows or rows[0]["handled_at"] is not None:
            return                                       # handled already (event + start-up)
        raw, received_at = rows[0]["phone"], rows[0]["received_at"]
        phone = normalise_caller(raw or "", self.region)
        sub = await subscribers.find_live_subscriber(store, phone) if phone else None
        request = None
        if sub is None:
            # not enrolled: nothing of hers to keep; the row stays, masked, for the counts
            log.info("missed call from %s, not enrolled: ignored", mask(phone or raw))
            await store.execute("UPDATE missed_calls SET phone = ?, handled_at = ? WHERE id = ?",
                                (mask(phone or raw), self.clock(), row_id))
            return
        request = await self.schedule.missed_call(sub.id, utc(received_at))
        await store.execute(
            "UPDATE missed_calls SET phone = ?, subscriber_id = ?, callback_id = ?, handled_at = ? "
            "WHERE id = ?", (phone, sub.id, request.id if request else None, self.clock(), row_id))
        log.info("missed call from woman %s: %s", sub.id,
                 f"callback request {request.id}" if request else "merged with a recent one")
        self.wake.set()

    # ------------------------------------------------------------------ crash recovery
    async def reconcile(self) -> int:
        """Close the live attempts that dead processes left behind (a crashed `ivr run`, a
        killed `ivr call test`); attempts of a live process, or of another host (its lease
        decides), are left alone. A channel such an attempt left in Asterisk is hung up,
        unless she is with the call centre: her talk goes on, the attempt is closed as
        answered. Every stale row is closed, whatever it holds: a row that cannot be
        released to the scheduler (no woman behind it) is closed as it is, and counted.
        Returns how many were closed."""
        live = [a for a in await self.schedule.live_attempts()
                if a.acquired_by != self.owner and owner_state(a.acquired_by) == "dead"]
        if not live:
            return 0
        try:
            channels = await self.service.controller.ami.channels()
        except (AmiError, asyncio.TimeoutError) as e:
            log.error("cannot list Asterisk's channels to reconcile: %s", e)
            channels = []
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

    async def _close_stale(self, attempt: Attempt, channels) -> None:
        row = await self.service.store.attempt(attempt.id)
        prefix = f"ivr-{attempt.id}-"
        ours = [c for c in channels if c.uniqueid.startswith(prefix)]
        with_centre = any(c.context in CALL_CENTRE_CONTEXTS for c in ours)
        if with_centre:
            log.warning("attempt %s: she is with the call centre; her call goes on", attempt.id)
        else:
            for c in ours:
                if not c.uniqueid.endswith("-2"):
                    log.warning("attempt %s: hanging up its orphaned channel", attempt.id)
                    await self.service.controller.hang_up(c.name)
        answered = with_centre or bool(row and row.answered_at)
        outcome = Outcome.ANSWERED if answered else Outcome.FAILED
        heard = row.heard_share if row else None
        if attempt.subscriber_id is None:
            # nobody to schedule (a test call): close the row as it is
            await self.service.store.attempt_ended(attempt.id, at=self.clock(), outcome=outcome)
        else:
            await self.schedule.release(attempt.id, outcome, heard, utc(self.clock()))
        log.warning("attempt %s of a dead owner (%s) closed as %s", attempt.id,
                    attempt.acquired_by or "nobody", outcome.value)

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
            "loop_errors": self.stats.loop_errors,
            "errors_in_a_row": self.stats.errors_in_a_row,
            "backoff_until": self.stats.backoff_until,
            "stale_closed": self.stats.stale_closed,
            "ami_reconnects": self.service.controller.ami.reconnects,
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
    """One `ivr run` per database: an exclusive lock on a file beside it
    (<database>.run-lock), so two state directories naming one database cannot both run
    (each would take the other's calls for a dead owner's)."""

    def __init__(self, database: Path):
        self.path = database.with_name(database.name + ".run-lock")
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunError(f"another `ivr run` is already running on the database "
                           f"{self.path.with_name(self.path.name.removesuffix('.run-lock'))}") \
                from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
