"""The call controller: places one call through AMI, follows it by its events, and
records the attempt. The in-call part runs in the FastAGI route (same process).

One correlation id joins the two halves of a call: the attempt id travels as the channel
variable IVR_ATTEMPT_ID (read back by the AGI route) and names the channels themselves
(Originate ChannelId "ivr-<attempt>-<nonce>", so every Hangup event says whose it is).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from functools import partial
from typing import Awaitable, Callable

from ivr import constants as C
from ivr.adapters import call_records
from ivr.adapters.ami import AmiError, AmiGateway, NotPlaced, Originate
from ivr.adapters.store import UNAVAILABLE_ERRORS, Store
from ivr.call_actions import (Action, Answered, HangUp, ListChannels, Reached, Release,
                              SendOriginate)
from ivr.call_report import Listening
from ivr.call_tracker import MAX_CALL_SECONDS
from ivr.config import Config
from ivr.database_watch import CallWrites, DatabaseWatch
from ivr.live_call import CallReport, CallRequest, LiveCall  # noqa: F401 - CallRequest: callers'
from ivr.phone import mask
from ivr.protocol.ami import Hangup, OriginateResponse, OtherEvent, UserEvent

log = logging.getLogger(__name__)


class Controller:
    """Owns the AMI gateway and the table of live calls. FastAGI sessions find their call
    here by attempt id (see ivr/agi_route.py)."""

    def __init__(self, config: Config, store: Store, agi_url: str,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.store = store
        self.agi_url = agi_url
        self.clock = clock
        self.live: dict[int, LiveCall] = {}
        self._by_channel: dict[str, int] = {}
        self.user_event_handlers: list[Callable[[UserEvent], None]] = []
        self.login_handlers: list[Callable[[], None]] = []     # AMI logged in again
        # a cancelled call is hung up (Ctrl-C), unless the service stops past its drain
        # deadline: then calls stay up in Asterisk and the next start closes them
        self.leave_calls_up = False
        # the database as the calls' writes find it: kept in memory while it is away
        self.database = DatabaseWatch(str(store), clock)
        self.ami = AmiGateway(config.ami, self._on_event, on_disconnect=self._on_ami_lost,
                              on_login=self._on_ami_login, ready_context=C.CONTEXT_OUTBOUND)

    async def start(self) -> None:
        await self.ami.connect()

    async def close(self) -> None:
        await self.ami.close()

    # ------------------------------------------------------------------ events
    def _on_event(self, event: Hangup | UserEvent | OtherEvent | OriginateResponse) -> None:
        if isinstance(event, Hangup):
            call = self._call_of(event.uniqueid)
            if call is not None:
                call.feed(call.tracker.hangup(self.clock(), event))
        elif isinstance(event, OtherEvent):
            if event.name == "Newstate":
                call = self._call_of(event.headers.get("Uniqueid", ""))
                if call is not None:
                    call.feed(call.tracker.newstate(self.clock(),
                                                    event.headers.get("ChannelState", "")))
            elif event.name == "Shutdown":
                for call in self.live.values():
                    call.tracker.shutdown(self.clock())
        elif isinstance(event, OriginateResponse):
            # only an Originate sent before a reconnect comes this way (panoramisk hands
            # the others to their action): the call's tracker takes it
            call = self._call_of(event.action_id.removeprefix("orig-"))
            if call is not None:
                call.feed(call.tracker.originate_response(self.clock(), event))
        elif isinstance(event, UserEvent):
            if event.name == C.USEREVENT_AGI_FAILED:
                call = self._call_of(event.headers.get("Uniqueid", ""))
                if call is not None:
                    call.feed(call.tracker.agi_failed(self.clock()))
            for handler in self.user_event_handlers:
                handler(event)

    def _call_of(self, uniqueid: str) -> LiveCall | None:
        attempt_id = self._by_channel.get(uniqueid)
        return self.live.get(attempt_id) if attempt_id is not None else None

    def _on_ami_login(self) -> None:
        now = self.clock()
        for call in self.live.values():
            call.feed(call.tracker.link_back(now))
        for handler in self.login_handlers:
            handler()

    def _on_ami_lost(self) -> None:
        """Hangup events may be lost while AMI is down: the trackers decide what that means
        for each call (ivr/call_tracker.py)."""
        now = self.clock()
        for call in self.live.values():
            call.feed(call.tracker.link_lost(now))

    # the in-call route's reports (ivr/agi_route.py)
    def agi_takes(self, call: LiveCall) -> list[Answered]:
        """The route has her call (from now on any other session for it is refused): her
        answer, which agi_begins writes once Asterisk knows it (IVR_SERVED)."""
        actions = call.tracker.agi_begins(self.clock())
        call.feed([a for a in actions if not isinstance(a, Answered)])
        return [a for a in actions if isinstance(a, Answered)]

    async def agi_begins(self, call: LiveCall, answers: list[Answered],
                         told: Callable[[], None] | None = None) -> None:
        """Her answer (agi_takes) written before this returns; `told` (the route telling
        Asterisk IVR_SERVED: from then on she hears her message, from the route or the
        dialplan's fallback) is called inside its transaction, just before its COMMIT is
        sent (Store.attempt_answered)."""
        for action in answers:
            try:
                await self.store.attempt_answered(call.attempt_id, action.at,
                                                  action.channel, told)
            except UNAVAILABLE_ERRORS:
                # the database is away, this process is not: her answer waits in memory
                # with the call's other writes (ivr/database_watch.py) and she is served.
                # Only if this process also dies before it lands is she reaped as not
                # answered and called again (a double fault: dialplan/README.md).
                call.feed([action])
            except Exception:
                call.feed(call.tracker.answer_unwritten(self.clock()))
                raise
            # its channel name, when Asterisk's answer to the Originate gave it meanwhile
            call.feed(call.tracker.answer_written(action))

    def agi_done(self, call: LiveCall, listening: Listening | None) -> None:
        call.flow_done.set()
        call.feed(call.tracker.agi_done(self.clock(), listening))

    # ------------------------------------------------------------------ calls
    async def place_call(self, request: CallRequest, attempt_id: int,
                         gate: Callable[[], Awaitable[None]] | None = None,
                         on_reached: Callable[[], None] | None = None) -> CallReport:
        """Originate the call of an attempt row that exists (outcome still NULL), follow it
        to its end, write what Asterisk and the in-call route said (times, reason, cause,
        listening), and report the outcome. Closing the attempt (its outcome and heard share)
        is the caller's: a test call closes it alone, the service releases it to the
        scheduler with its decisions. Never raises for a call that simply failed: that is an
        outcome.
        `gate` is awaited right before the Originate is written (the service's pacing: the
        carrier counts call set-ups when they reach it, not when they were claimed).
        `on_reached` is called once, as soon as her phone rings or she answers.
        Cancelled (Ctrl-C), it hangs the call up first (see leave_calls_up)."""
        channel_id = f"ivr-{attempt_id}-{secrets.token_hex(8)}"   # unguessable: a forged
        # event would have to name it (the eventfilter passes only ivr- channels)
        call = LiveCall(attempt_id, request, channel_id, on_reached=on_reached)
        self.live[attempt_id] = call
        for uid in call.uniqueids:
            self._by_channel[uid] = attempt_id
        writes = CallWrites(self.database)
        try:
            return await self._run(call, gate, writes)
        except asyncio.CancelledError:
            await writes.cancel()
            if not self.leave_calls_up:
                await asyncio.shield(self.hang_up_call(call.channel_id))
            elif call.tracker.listening is not None:      # for the next start's recovery
                await asyncio.shield(call_records.left_live(self.store, attempt_id,
                                                            call.tracker.listening))
            raise
        finally:
            self.live.pop(attempt_id, None)
            for uid in call.uniqueids:
                self._by_channel.pop(uid, None)

    async def _run(self, call: LiveCall, gate: Callable[[], Awaitable[None]] | None,
                   writes: CallWrites) -> CallReport:
        """Carry out the tracker's actions, feed it what comes, until it releases the call.
        Its writes go through `writes`: none holds the call up, and the call's end waits
        until they all landed (the database may be away meanwhile: ivr/database_watch.py)."""
        originate = self._originate(call)
        if gate is not None:
            await gate()
        tracker = call.tracker
        follower: asyncio.Future | None = None
        try:
            actions = tracker.start(self.clock())
            while True:
                for action in actions:
                    if isinstance(action, Release):
                        return await self._end(call, action.report, writes)
                    if isinstance(action, SendOriginate):
                        follower = self._send(call, originate, writes)
                    elif isinstance(action, Reached):
                        if call.on_reached is not None:
                            call.on_reached()
                    elif isinstance(action, Answered):
                        writes.add(partial(self.store.attempt_answered, call.attempt_id,
                                           action.at, action.channel))
                    elif isinstance(action, ListChannels):
                        await self._list_channels(call, action.cut)
                    elif isinstance(action, HangUp):
                        for name in action.channels:
                            await self.hang_up(name)
                actions = await self._next(call)
        finally:
            if follower is not None and not follower.done():
                follower.cancel()
                await asyncio.gather(follower, return_exceptions=True)

    def _originate(self, call: LiveCall) -> Originate:
        request = call.request
        trunk = request.trunk
        return Originate(
            action_id=f"orig-{call.channel_id}",
            channel=trunk.dial.format(digits=request.phone, e164="+" + request.phone),
            context=C.CONTEXT_OUTBOUND, exten=C.EXTEN_START, timeout=trunk.ring_timeout,
            channel_id=call.channel_id, caller_id=trunk.caller_id,
            variables={
                # "__" makes the second half of a Local channel inherit it too
                "__" + C.VAR_ATTEMPT_ID: str(call.attempt_id),
                C.VAR_LANG: request.language,
                C.VAR_MESSAGE: request.message_key,
                C.VAR_AGI_URL: self.agi_url,
                C.VAR_AGI_TOKEN: call.agi_token,
            })

    def _send(self, call: LiveCall, originate: Originate,
              writes: CallWrites) -> asyncio.Future | None:
        """Write the Originate and its start to the attempt row; a task then feeds the
        tracker Asterisk's answer."""
        request = call.request
        sent_at = self.clock()
        losses = self.ami.losses
        writes.add(lambda: self.store.attempt_started(call.attempt_id, sent_at, call.channel_id,
                                                      request.trunk.name))
        try:
            pending = self.ami.send_originate(originate)
        except AmiError as e:
            log.error("attempt %s: %s", call.attempt_id, e)
            call.feed(call.tracker.originate_failed(self.clock(), str(e),
                                                    not_placed=isinstance(e, NotPlaced)))
            return None
        log.info("attempt %s: calling %s via %s (%s, %s)", call.attempt_id, mask(request.phone),
                 request.trunk.name, request.language, request.message_key)
        return asyncio.ensure_future(self._follow(call, originate, pending, losses))

    async def _follow(self, call: LiveCall, originate: Originate, pending: asyncio.Future,
                      losses: int) -> None:
        try:
            response = await self.ami.originate_outcome(originate, pending)
        except AmiError as e:
            link_lost = self.ami.losses != losses and not isinstance(e, NotPlaced)
            if link_lost:
                log.warning("attempt %s: %s; taking the call back once AMI is back",
                            call.attempt_id, e)
            else:
                log.error("attempt %s: %s", call.attempt_id, e)
            call.feed(call.tracker.originate_failed(
                self.clock(), str(e), not_placed=isinstance(e, NotPlaced), link_lost=link_lost))
            return
        except Exception as e:        # noqa: BLE001 - the tracker must hear of it, or wait on
            log.error("attempt %s: the Originate's outcome failed: %r", call.attempt_id, e)
            call.feed(call.tracker.originate_failed(self.clock(), repr(e), not_placed=False))
            return
        call.feed(call.tracker.originate_response(self.clock(), response))

    async def _next(self, call: LiveCall) -> list[Action]:
        """The next actions: fed by events, or the tracker's timer."""
        tracker = call.tracker
        while not call.todo:
            call.wake.clear()
            deadline = call.waiting_until = tracker.deadline
            if deadline is None:
                await call.wake.wait()
                continue
            try:
                async with asyncio.timeout(max(deadline - self.clock(), 0.0)):
                    await call.wake.wait()
            except TimeoutError:
                call.feed(tracker.tick(self.clock()))
        actions, call.todo = call.todo, []
        return actions

    async def _list_channels(self, call: LiveCall, cut: bool) -> None:
        """Feed the tracker the call's channels Asterisk has now (None: it cannot say)."""
        if cut:
            log.warning("attempt %s: call longer than %s s, hanging up", call.attempt_id,
                        MAX_CALL_SECONDS)
        try:
            channels = await self.ami.channels()
        except (AmiError, asyncio.TimeoutError) as e:
            log.error("attempt %s: cannot list Asterisk's channels: %s", call.attempt_id, e)
            names = None
        else:
            ours = call.uniqueids
            names = {c.uniqueid: c.name for c in channels if c.uniqueid in ours}
        call.feed(call.tracker.channels(self.clock(), names))

    async def _end(self, call: LiveCall, report: CallReport, writes: CallWrites) -> CallReport:
        """The call's record (what Asterisk said, what she heard) in one write, after the
        call's other writes; returns once they all landed."""
        writes.add(lambda: call_records.record_end(self.store, report))
        if writes.waiting > 1 or not self.database.up:
            log.info("attempt %s: ended; its record waits for the database", call.attempt_id)
        await writes.flush()
        if report.link_lost and report.reason is None and report.cause is None:
            log.info("attempt %s: %s (AMI link lost)", call.attempt_id, report.outcome.value)
        else:
            log.info("attempt %s: %s (reason %s, cause %s)", call.attempt_id,
                     report.outcome.value, report.reason, report.cause)
        return report

    async def hang_up_call(self, channel_id: str) -> int:
        """Hang up the channels of the call whose Originate named them `channel_id`, found
        by their Uniqueid in Asterisk's own list now: a channel name learnt before a
        reconnect may belong to another call after an Asterisk restart, so none is reused.
        Returns how many were hung up."""
        try:
            channels = await self.ami.channels()
        except (AmiError, asyncio.TimeoutError) as e:
            log.error("could not list channels to hang up call %s: %s", channel_id, e)
            return 0
        ours = [c.name for c in channels if c.uniqueid == channel_id]
        if not ours:      # only the second half of a Local channel is left
            ours = [c.name for c in channels if c.uniqueid == channel_id + "-2"]
        for name in ours:
            await self.hang_up(name)
        return len(ours)

    async def hang_up(self, channel: str | None) -> None:
        """Hang up a channel by the name Asterisk gave it just now (see hang_up_call)."""
        if not channel:
            return
        try:
            await self.ami.hangup(channel)
        except (AmiError, asyncio.TimeoutError) as e:
            log.error("could not hang up a channel: %s", e)
