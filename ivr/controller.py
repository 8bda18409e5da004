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
from typing import Awaitable, Callable

from ivr import constants as C
from ivr.adapters.ami import AmiError, AmiGateway, NotPlaced, Originate
from ivr.adapters.store import Store
from ivr.config import Config
from ivr.live_call import CallReport, CallRequest, LiveCall  # noqa: F401 - CallRequest: callers'
from ivr.phone import mask
from ivr.protocol.ami import Hangup, OriginateResponse, OtherEvent, UserEvent
from ivr.protocol.outcome import REASON_ANSWERED, classify
from scheduler.outcome import Outcome

log = logging.getLogger(__name__)

# After a failed originate, how long to wait for the Hangup that carries the cause.
CAUSE_GRACE_SECONDS = 2.0
# An answered call longer than this is cut (a stuck channel must not hold a line for ever).
MAX_CALL_SECONDS = 900.0
# After the AMI link dropped, how long a call's follower waits for it to come back before it
# gives the call up (beyond the ring timeout, for a call still ringing).
RECOVER_SECONDS = 30.0
# Channel states (AMI Newstate ChannelState) that show the trunk reached her phone.
_REACHED_STATES = frozenset({"5", "6"})          # Ringing, Up


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
        self.ami = AmiGateway(config.ami, self._on_event, on_disconnect=self._on_ami_lost,
                              on_login=self._on_ami_login, ready_context=C.CONTEXT_OUTBOUND)

    async def start(self) -> None:
        await self.ami.connect()

    async def close(self) -> None:
        await self.ami.close()

    # ------------------------------------------------------------------ events
    def _on_event(self, event: Hangup | UserEvent | OtherEvent | OriginateResponse) -> None:
        if isinstance(event, OriginateResponse):
            # only an Originate sent before a reconnect comes this way (panoramisk hands
            # the others to their action): the call's follower takes it
            call = self._call_of(event.action_id.removeprefix("orig-"))
            if call is not None and call.response is None:
                call.response = event
                call.responded.set()
                if event.success:
                    call.mark_reached()
            return
        if isinstance(event, OtherEvent):
            if event.name == "Newstate" and event.headers.get("ChannelState") in _REACHED_STATES:
                call = self._call_of(event.headers.get("Uniqueid", ""))
                if call is not None:
                    call.mark_reached()
            return
        if isinstance(event, Hangup):
            attempt_id = self._by_channel.get(event.uniqueid)
            call = self.live.get(attempt_id) if attempt_id is not None else None
            if call is None:
                return
            call.hangups[event.uniqueid] = event
            if event.cause:
                call.cause_seen.set()
            if event.uniqueid == call.channel_id:
                call.ended.set()
        elif isinstance(event, UserEvent):
            for handler in self.user_event_handlers:
                handler(event)

    def _call_of(self, uniqueid: str) -> LiveCall | None:
        attempt_id = self._by_channel.get(uniqueid)
        return self.live.get(attempt_id) if attempt_id is not None else None

    def _on_ami_login(self) -> None:
        for handler in self.login_handlers:
            handler()

    def _on_ami_lost(self) -> None:
        """Hangup events may be lost while AMI is down: an answered call whose FastAGI flow
        has finished is then over for us (see _run)."""
        for call in self.live.values():
            call.ami_lost.set()

    # ------------------------------------------------------------------ calls
    async def place_call(self, request: CallRequest, attempt_id: int,
                         gate: Callable[[], Awaitable[None]] | None = None,
                         on_reached: Callable[[], None] | None = None) -> CallReport:
        """Originate the call of an attempt row that exists (outcome still NULL), follow it
        to its end, write what Asterisk said (times, reason, cause; the AGI route writes the
        listening), and report the outcome. Closing the attempt is the caller's: a test call
        closes it alone, the service releases it to the scheduler with its decisions.
        Never raises for a call that simply failed: that is an outcome.
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
        try:
            return await self._run(call, gate)
        except asyncio.CancelledError:
            if not self.leave_calls_up:
                await asyncio.shield(self.hang_up_call(call.channel_id))
            raise
        finally:
            self.live.pop(attempt_id, None)
            for uid in call.uniqueids:
                self._by_channel.pop(uid, None)

    async def _run(self, call: LiveCall,
                   gate: Callable[[], Awaitable[None]] | None) -> CallReport:
        request = call.request
        trunk = request.trunk
        originate = Originate(
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
        if gate is not None:
            await gate()
        sent_at = self.clock()
        losses = self.ami.losses
        try:
            pending = self.ami.send_originate(originate)
        except AmiError as e:
            await self.store.attempt_started(call.attempt_id, sent_at, call.channel_id, trunk.name)
            return await self._lost(call, e)
        await self.store.attempt_started(call.attempt_id, sent_at, call.channel_id, trunk.name)
        log.info("attempt %s: calling %s via %s (%s, %s)", call.attempt_id, mask(request.phone),
                 trunk.name, request.language, request.message_key)
        try:
            response = await self.ami.originate_outcome(originate, pending)
        except NotPlaced as e:
            return await self._lost(call, e)
        except AmiError as e:
            recovered = await self._recover(call, e) if self.ami.losses != losses else None
            if recovered is None:
                return await self._lost(call, e)
            response = recovered
        if response.success:
            call.mark_reached()
            await self.store.attempt_answered(call.attempt_id, self.clock(), response.channel)
            if not await self._wait_end(call):
                log.warning("attempt %s: call longer than %s s, hanging up", call.attempt_id,
                            MAX_CALL_SECONDS)
                await self.hang_up_call(call.channel_id)
                await self._wait(call.ended, 10)
            # the AGI route writes the listening figures; let it finish (it ends with the call)
            if call.agi_started:
                await self._wait(call.flow_done, 10)
        else:
            await self._wait(call.cause_seen, CAUSE_GRACE_SECONDS)
        cause, cause_text = call.dialled_cause()
        outcome = classify(response.reason, cause)
        ended_at = self.clock()
        await self.store.attempt_telephony(call.attempt_id, reason=response.reason, cause=cause,
                                           cause_text=cause_text)
        attempt = await self.store.attempt(call.attempt_id)
        log.info("attempt %s: %s (reason %s, cause %s)", call.attempt_id, outcome.value,
                 response.reason, cause)
        # a failure with no cause while Asterisk went away (shutting down, link lost) is
        # Asterisk's, not the trunk's
        asterisk_fault = not response.success and not cause and self.ami.losses != losses
        return CallReport(call.attempt_id, outcome, ended_at,
                          attempt.heard_share if attempt else None, link_lost=asterisk_fault)

    async def _recover(self, call: LiveCall, error: AmiError) -> OriginateResponse | None:
        """The AMI link dropped before the Originate's outcome, but Asterisk may still be
        ringing her phone (and will run the AGI route when she answers): once AMI is back,
        take the call back instead of failing it. Its outcome then comes from the
        OriginateResponse event (Asterisk sends it to every manager session), the AGI route
        (she answered), or the Hangup of its channel. None: the call cannot be followed."""
        log.warning("attempt %s: %s; taking the call back once AMI is back", call.attempt_id,
                    error)
        limit = call.request.trunk.ring_timeout + RECOVER_SECONDS
        deadline = self.clock() + limit
        if not await self.ami.wait_connected(limit):
            return None
        call.ami_lost.clear()
        present = await self._present(call)
        if present is None:
            return None
        if not present and not (call.responded.is_set() or call.agi_started
                                or call.cause_seen.is_set()):
            log.warning("attempt %s: its channel ended while AMI was away", call.attempt_id)
            return None
        waiters = [asyncio.create_task(e.wait())
                   for e in (call.responded, call.agi_seen, call.ended)]
        try:
            await asyncio.wait(waiters, timeout=max(deadline - self.clock(), 1.0),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        log.info("attempt %s: taken back after the AMI reconnect", call.attempt_id)
        if call.response is not None:
            return call.response
        action_id = f"orig-{call.channel_id}"
        if call.agi_started:
            return OriginateResponse(action_id, True, REASON_ANSWERED, call.channel_id, None)
        if call.ended.is_set():
            return OriginateResponse(action_id, False, None, call.channel_id, None)
        return None

    async def _present(self, call: LiveCall) -> bool | None:
        """Does Asterisk still have this call's channel? None: it cannot say."""
        try:
            channels = await self.ami.channels()
        except (AmiError, asyncio.TimeoutError) as e:
            log.error("attempt %s: cannot list Asterisk's channels: %s", call.attempt_id, e)
            return None
        return any(c.uniqueid in call.uniqueids for c in channels)

    async def _wait_end(self, call: LiveCall) -> bool:
        """Wait for the Hangup of our channel (False: longer than MAX_CALL_SECONDS). If AMI
        drops meanwhile, the call is asked for again once AMI is back; while it stays away,
        the end of the FastAGI flow stands in for the Hangup (the flow ends with the call)."""
        deadline = self.clock() + MAX_CALL_SECONDS
        while True:
            ended = asyncio.create_task(call.ended.wait())
            lost = asyncio.create_task(call.ami_lost.wait())
            try:
                done, _ = await asyncio.wait({ended, lost}, timeout=deadline - self.clock(),
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (ended, lost):
                    t.cancel()
                await asyncio.gather(ended, lost, return_exceptions=True)
            if not done:
                return False
            if call.ended.is_set():
                return True
            # AMI dropped: the Hangup may have been missed
            if call.agi_started and call.flow_done.is_set() and not self.ami.connected:
                return True
            if not await self._wait_back(call, deadline):
                return True
            call.ami_lost.clear()
            if await self._present(call) is False and not call.ended.is_set():
                log.info("attempt %s: ended while AMI was away", call.attempt_id)
                return True

    async def _wait_back(self, call: LiveCall, deadline: float) -> bool:
        """Wait for AMI to come back; while it is away, the end of an AGI flow ends the call.
        False: the call is over for us (the flow ended with AMI still away)."""
        back = asyncio.create_task(self.ami.wait_connected(max(deadline - self.clock(), 0.0)))
        flow = asyncio.create_task(call.flow_done.wait())
        try:
            done, _ = await asyncio.wait({back, flow}, return_when=asyncio.FIRST_COMPLETED)
            return back in done and back.result()
        finally:
            for t in (back, flow):
                t.cancel()
            await asyncio.gather(back, flow, return_exceptions=True)

    async def _lost(self, call: LiveCall, error: AmiError) -> CallReport:
        """The Originate got no answer and the call could not be taken back (AMI stayed
        away, Asterisk restarted, the Originate was refused). If the call reached the IVR
        anyway, it was answered: wait for the flow; else it failed."""
        log.error("attempt %s: %s", call.attempt_id, error)
        if call.agi_started:
            await self._wait(call.flow_done, MAX_CALL_SECONDS)
            await self.store.attempt_answered(call.attempt_id, self.clock(), None)
            outcome = Outcome.ANSWERED
        else:
            outcome = Outcome.FAILED
        await self.store.attempt_telephony(call.attempt_id, reason=None, cause=None,
                                           cause_text=str(error)[:200])
        attempt = await self.store.attempt(call.attempt_id)
        return CallReport(call.attempt_id, outcome, self.clock(),
                          attempt.heard_share if attempt else None, link_lost=True,
                          placed=not isinstance(error, NotPlaced) or call.agi_started)

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

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float) -> bool:
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


