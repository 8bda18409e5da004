"""The dial loop of `ivr run`: claims due attempts from the scheduling store, places them
through the controller within each trunk's limits (ivr/lanes.py), releases each with its
outcome, and sleeps until the next due time or a wake-up.

Crash safety: every attempt row exists (owned and leased by this process) before its
Originate goes out; its lease is renewed while the call goes on. An error in a turn of the
loop is logged, shown by `ivr status` and retried after a backoff: it never ends the service.
A stop drains: no new calls, live ones go on up to the drain deadline.

The database away (PostgreSQL restarted, say): turns fail and back off (no new calls), the
calls in progress go on, and what they write (their record, their release, their lease's
renewal) waits in memory until the database is back (ivr/database_watch.py). Before each
reap, the loop renews the lease of any call of its own whose keeper is late (its renewal
waits for the database): a call that went on while the database was away is its owner's to
release, not the reaper's.

Each call's lease is its own programme's (Retry.lease: the claim writes until = claimed +
her programme's lease): its keeper renews it at half that length and for that length, so a
programme with a long lease (patient with a slow database) keeps it when another programme
of the installation has a short one. `lease_seconds` serves only a call that carries none.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Awaitable, Callable, Sequence

from ivr import constants as C
from ivr.absence import TURN_PAGE, AbsenceSweep
from ivr.adapters.report_engagement import HourlyFold, shares
from ivr.adapters.report_rollup import HourlyRollUp
from ivr.adapters.retention import DailyPurge
from ivr.adapters.store import UNAVAILABLE_ERRORS
from ivr.app import Service
from ivr.chore_runner import ChoreRunner
from ivr.controller import CallRequest
from ivr.intake import MissedCallIntake
from ivr.lanes import Lane, assign
from ivr.recovery import Recovery
from ivr.run_status import Stats
from ivr.schedule import Schedule
from scheduler.model import Attempt, AttemptKind, SchedulerError
from scheduler.outcome import Outcome

log = logging.getLogger(__name__)
PLAN_PER_TURN = 20_000    # women planned a turn (a programme): a big day's plan (midnight
#                           for millions, a big import) goes a page a turn between the calls

MAX_SLEEP = 30.0          # re-check at least this often (plans written by other processes)
SWEEP_EVERY = 30.0        # look for missed calls no event told us of, and dead processes' calls
NOT_PLACED_RETRY = 5.0    # a call Asterisk refused is due again after this many seconds
BACKOFF_CAP = 30.0        # the dial loop's longest wait after errors in a row
DRAIN_SECONDS = C.DRAIN_SECONDS


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def lease_length(attempt: Attempt, default: float) -> float:
    """The lease its claim gave it (her programme's Retry.lease), in seconds; `default` for
    an attempt that carries no lease."""
    if attempt.acquired_until is None or attempt.acquired_until <= attempt.claimed_at:
        return default
    return (attempt.acquired_until - attempt.claimed_at).total_seconds()


class DialLoop:
    """`lanes`: one per trunk, in order of preference. `recovery` and `intake` are swept
    from the loop (at its first turn, then every SWEEP_EVERY seconds). `chores`: the
    service's other work in flight (missed-call intake): a drain waits for it too."""

    def __init__(self, service: Service, schedule: Schedule, lanes: Sequence[Lane],
                 stats: Stats, *, recovery: Recovery, intake: MissedCallIntake,
                 lease_seconds: float, owner: str, clock: Callable[[], float] = time.time):
        self.service = service
        self.schedule = schedule
        self.lanes = lanes
        self.stats = stats
        self.recovery = recovery
        self.intake = intake
        self.lease_seconds = lease_seconds
        self.owner = owner
        self.clock = clock
        self.plan_per_turn = PLAN_PER_TURN
        self.wake = asyncio.Event()
        self.calls: set[asyncio.Task] = set()
        self.chores: set[asyncio.Task] = set()
        self._swept_at = clock()
        self._reconciled = False
        self.chore_runner = ChoreRunner(log)
        self.retention = DailyPurge(service.config.privacy.keep_call_records)
        self.rollup = HourlyRollUp(tuple(sorted({p.timezone for p in
                                                 service.schedule.programmes})))
        self.engagement = HourlyFold(shares(p.at_risk for p in service.schedule.programmes))
        self.absence = AbsenceSweep(service.schedule, page=TURN_PAGE)   # silent weeks, hourly
        self.metrics = None                     # ivr.metrics.Metrics, set by `ivr run`
        self.loop_at: float | None = None       # the last turn (its heartbeat)
        self.database = service.controller.database
        self.leased: dict[int, float] = {}      # this process's live attempts: lease ends
        self.lengths: dict[int, float] = {}     # and their programme's lease, in seconds

    # ------------------------------------------------------------------ the loop
    async def run(self, stop: asyncio.Event, *, until_idle: bool = False,
                  idle_horizon: float = 60.0, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Call until `stop` is set, or, with until_idle, until no call is live and nothing
        falls due within idle_horizon seconds (demos and tests); then drain."""
        try:
            while not stop.is_set():
                self.loop_at = self.clock()                 # heartbeat (health hook)
                try:
                    wake_at, full = await self._turn()
                except Exception as e:            # noqa: BLE001 - the service must go on
                    await self._back_off(stop, e)
                    continue
                self.stats.errors_in_a_row, self.stats.backoff_until = 0, None
                self.database.answered()
                if until_idle and not self.calls and not self.chores and (
                        wake_at is None or wake_at.timestamp() > self.clock() + idle_horizon):
                    break
                await self._sleep(stop, wake_at, more_due=full)
        finally:
            await self.drain(drain_seconds)

    async def _turn(self) -> tuple[datetime | None, bool]:
        """One turn of the loop: recover (once), plan, reap, missed calls, dial. Returns the
        next wake-up and whether the claim was full."""
        if not self._reconciled:
            await self.recovery.reconcile()
            await self.intake.sweep()
            self._reconciled = True
        now = self.clock()
        await self._renew_late_leases(now)
        await self.schedule.run_plans(utc(now), self.plan_per_turn)
        await self.schedule.reap(utc(now))
        # retention ([privacy] keep_call_records): once a (UTC) day, a page a turn
        chores, store = self.chore_runner, self.service.store
        again = (await chores.run("retention", self.retention.run_if_due(store, utc(now)))
                 and self.retention.behind)
        # hourly, a page a turn (ivr/absence.py)
        await chores.run("absence sweep", self.absence.run_if_due(utc(now)))
        # the report's closed days and the at-risk list's summary per woman (not while
        # retention's pages cut into them)
        if not self.retention.behind:
            again |= (await chores.run("report rollup", self.rollup.run_if_due(store, utc(now)))
                      and self.rollup.behind)
            await chores.run("report engagement", self.engagement.run_if_due(store, utc(now)))
        if now - self._swept_at >= SWEEP_EVERY:     # safety net: events can be lost
            self._swept_at = now
            await self.intake.sweep()
            await self.recovery.reconcile()         # a killed `ivr call test`, say
        full = await self._dial_due()
        if again:
            return utc(now), full       # a chore has pages left: the next turn at once
        return await self.schedule.next_wake(), full

    async def _back_off(self, stop: asyncio.Event, error: Exception) -> None:
        """A turn failed: wait 1, 2, 4... up to BACKOFF_CAP seconds (or until stopped)."""
        stats = self.stats
        stats.loop_errors += 1
        stats.errors_in_a_row += 1
        delay = min(2.0 ** (stats.errors_in_a_row - 1), BACKOFF_CAP)
        stats.backoff_until = self.clock() + delay
        stats.error(self.clock(), f"dial loop: {error!r}"[:200])
        if isinstance(error, UNAVAILABLE_ERRORS):
            # the database is away: one line when it goes, one when it is back (the watch's)
            self.database.failed(error)
            self._swept_at = float("-inf")      # its first turn back takes the spooled calls
            log.debug("dial loop: %r; trying again in %.0f s", error, delay)
        else:
            log.error("dial loop: %r; trying again in %.0f s (%d error(s) in a row)", error,
                      delay, stats.errors_in_a_row)
        # woken early when a call's write finds the database back
        waits: list[Awaitable[object]] = [stop.wait()]
        if not self.database.up:
            waits.append(self.database.back(delay))
        await first_of(waits, delay)

    async def _renew_late_leases(self, now: float) -> None:
        """Renew the lease of each call of ours whose keeper is late (it renews at half
        the lease: one that is not done by three quarters waits for the database), before
        this turn reaps what ran out. Nothing to do while the keepers keep up."""
        late = sorted(i for i, until in self.leased.items()
                      if until <= now + self._length(i) / 4)
        if not late:
            return
        lost = [attempt_id for attempt_id in late
                if not await self._extend(attempt_id) and attempt_id in self.leased]
        log.info("renewed the lease of %d call(s) whose keeper waited for the database",
                 len(late) - len(lost))
        if lost:
            log.warning("%d call(s) of ours were no longer ours when their lease was renewed "
                        "(reaped by another node while the database was away?): attempts %s",
                        len(lost), lost)

    async def _extend(self, attempt_id: int) -> bool:
        """Renew one lease of ours for its full length; False if it is not ours any more."""
        until = self.clock() + self._length(attempt_id)
        if not await self.schedule.extend(attempt_id, self.owner, utc(until)):
            return False
        if attempt_id in self.leased:
            self.leased[attempt_id] = until
        return True

    def _length(self, attempt_id: int) -> float:
        return self.lengths.get(attempt_id, self.lease_seconds)

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
        await first_of([self.wake.wait(), stop.wait()], timeout)
        self.wake.clear()

    # ------------------------------------------------------------------ calls
    async def _dial_due(self) -> bool:
        """Claim at most one second's worth of calls (callbacks come first in every claim, so
        a missed call never waits behind a long batch) and start them; each passes the pacer
        right before its Originate is written. True when the claim was full (more may be
        due)."""
        now = self.clock()
        limit = sum(max(lane.room(now), 0) for lane in self.lanes)
        if limit <= 0 or not self.service.controller.ami.connected:
            return False
        claim_started = time.monotonic()
        attempts = await self.schedule.claim(utc(now), self.owner, limit)
        if self.metrics is not None:                                # metrics hook
            self.metrics.observe_claim(time.monotonic() - claim_started)
        for attempt, lane in zip(attempts, assign(self.lanes, len(attempts), now), strict=True):
            task = asyncio.create_task(self._call(attempt, lane), name=f"attempt-{attempt.id}")
            self.calls.add(task)
            task.add_done_callback(self._call_done)
        return len(attempts) == limit

    def _call_done(self, task: asyncio.Task) -> None:
        self.calls.discard(task)
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

    async def _place(self, attempt: Attempt, trunk, gate,
                     on_reached: Callable[[], None]) -> Outcome | None:
        """The call's outcome, for the trunk's health (None: never placed, the AMI link
        dropped, or the in-call route never had her answered call: none says anything of
        the trunk)."""
        store = self.service.store
        request = CallRequest(        # the claimed attempt carries her phone and language
            phone=attempt.phone, language=attempt.language, message_key=attempt.message_key,
            trunk=trunk, kind=attempt.kind.value, subscriber_id=attempt.subscriber_id,
            delivery_id=attempt.delivery_id, number=attempt.number)
        if self.metrics is not None:                                # metrics hook
            try:
                gate = await self.metrics.callback_gate(gate, attempt, store)
            except UNAVAILABLE_ERRORS as e:       # a metric is not worth her call
                self.database.failed(e)
        self.lengths[attempt.id] = lease_length(attempt, self.lease_seconds)
        keeper = asyncio.create_task(self._keep_lease(attempt))
        self.leased[attempt.id] = (attempt.acquired_until.timestamp()
                                   if attempt.acquired_until else self.clock())
        try:
            report = await self.service.controller.place_call(request, attempt.id, gate,
                                                              on_reached)
            if not report.placed:
                # nothing rang (Asterisk refused the Originate: shutting down, say): it costs
                # her no attempt; her call is due again shortly
                self.stats.not_placed += 1
                await self.database.insist(lambda: self.schedule.unclaim(
                    attempt.id, utc(self.clock() + NOT_PLACED_RETRY)))
                return None
            self.stats.outcomes[report.outcome.value] += 1
            if attempt.kind is AttemptKind.CALLBACK:
                self.stats.callbacks += 1
            # the lease is kept until the release is written: nobody reaps it meanwhile
            await self._release(attempt.id, report.outcome, report.heard_share, report.ended_at)
        finally:
            self.leased.pop(attempt.id, None)
            self.lengths.pop(attempt.id, None)
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        return None if report.link_lost or report.unserved else report.outcome

    async def _release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                       ended_at: float) -> None:
        """Record the call's end with the scheduler's decisions (the one write of its
        outcome and heard share). A write that fails (the database away, locked past its
        timeout, a full disk) is tried again until it lands (DatabaseWatch.insist), any other
        error with a backoff: the call happened, and its outcome decides her next call."""
        delay = 1.0
        while True:
            try:
                await self.database.insist(lambda: self.schedule.release(
                    attempt_id, outcome, heard_share, utc(ended_at)))
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
        dead owner's), for her programme's lease."""
        lease = self._length(attempt.id)
        while True:
            await asyncio.sleep(lease / 2)
            # the database away: tried again until it answers (the lease has half its
            # length left; the dial loop renews it first if it must: _renew_late_leases)
            if not await self.database.insist(lambda: self._extend(attempt.id)):
                return

    async def drain(self, deadline_seconds: float = DRAIN_SECONDS) -> None:
        """No new calls; let the live ones (and the chores) finish, for at most
        `deadline_seconds`. Calls still up then are left to Asterisk, their attempts live:
        the next start closes them without hanging up a woman who is still talking (to
        the call centre, say), and a call whose phone still rings is hung up there."""
        if self.calls or self.chores:
            log.info("draining: %d live call(s), at most %.0f s", len(self.calls),
                     deadline_seconds)
        pending = {*self.calls, *self.chores}
        if not pending:
            return
        done, left = await asyncio.wait(pending, timeout=deadline_seconds)
        if left:
            self.stats.left_live = len(left & self.calls)
            log.warning("stop deadline: %d call(s) still live, left to Asterisk; the next "
                        "start closes their attempts", self.stats.left_live)
            self.service.controller.leave_calls_up = True
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)


async def first_of(waits: Sequence[Awaitable[object]], timeout: float) -> None:
    """Wait until the first of `waits` is done, at most `timeout` seconds; the others are
    cancelled (and awaited) before this returns."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
