"""The call controller: places one call through AMI, follows it by its events, and
records the attempt. The in-call part runs in the FastAGI route (same process).

One correlation id joins the two halves of a call: the attempt id travels as the channel
variable IVR_ATTEMPT_ID (read back by the AGI route) and names the channels themselves
(Originate ChannelId "ivr-<attempt>-<nonce>", so every Hangup event says whose it is).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ivr import constants as C
from ivr.adapters.ami import AmiError, AmiGateway, Originate
from ivr.adapters.store import Store
from ivr.config import Config, Trunk
from ivr.protocol.ami import Hangup, OtherEvent, UserEvent, mask
from ivr.protocol.outcome import classify
from scheduler.outcome import Outcome

log = logging.getLogger(__name__)

# After a failed originate, how long to wait for the Hangup that carries the cause.
CAUSE_GRACE_SECONDS = 2.0
# An answered call longer than this is cut (a stuck channel must not hold a line for ever).
MAX_CALL_SECONDS = 900.0


@dataclass(frozen=True)
class CallRequest:
    phone: str                 # E.164 digits, validated by the caller (ivr.protocol.ami.phone_digits)
    language: str
    message_key: str
    trunk: Trunk
    kind: str = "test"
    subscriber_id: int | None = None
    delivery_id: int | None = None
    number: int = 1


@dataclass(frozen=True)
class CallReport:
    attempt_id: int
    outcome: Outcome
    ended_at: float
    heard_share: float | None       # None: not answered, or the flow did not report
    link_lost: bool = False         # AMI dropped before the outcome: it says nothing of the trunk


@dataclass
class LiveCall:
    attempt_id: int
    request: CallRequest
    channel_id: str
    hangups: dict[str, Hangup] = field(default_factory=dict)
    ended: asyncio.Event = field(default_factory=asyncio.Event)      # our channel hung up
    cause_seen: asyncio.Event = field(default_factory=asyncio.Event)  # a Hangup with a cause
    flow_done: asyncio.Event = field(default_factory=asyncio.Event)   # the AGI route finished
    ami_lost: asyncio.Event = field(default_factory=asyncio.Event)    # AMI dropped meanwhile
    agi_started: bool = False
    # the per-call secret the dialplan passes back to FastAGI (IVR_AGI_TOKEN): a local process
    # that connects to the FastAGI port cannot act on this call without it
    agi_token: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)

    def owns_agi(self, token: str, uniqueid: str) -> bool:
        """Is a FastAGI session with this token, on this channel uniqueid, this call's?  The
        AGI runs on the channel the Originate named (for a Local channel its first half)."""
        return (hmac.compare_digest(token.encode(), self.agi_token.encode())
                and uniqueid == self.channel_id)

    def dialled_cause(self) -> tuple[int | None, str | None]:
        """The cause of the leg that rang her phone: for a Local channel its second half,
        otherwise the channel itself. Zero (unknown) loses to any real cause."""
        best: tuple[int | None, str | None] = (None, None)
        for uid in (self.channel_id + "-2", self.channel_id):
            h = self.hangups.get(uid)
            if h and h.cause:
                return h.cause, h.cause_text
            if h and best[0] is None:
                best = (h.cause, h.cause_text)
        return best


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
        self.ami = AmiGateway(config.ami, self._on_event, on_disconnect=self._on_ami_lost)

    async def start(self) -> None:
        await self.ami.connect()

    async def close(self) -> None:
        await self.ami.close()

    # ------------------------------------------------------------------ events
    def _on_event(self, event: Hangup | UserEvent | OtherEvent) -> None:
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

    def _on_ami_lost(self) -> None:
        """Hangup events may be lost while AMI is down: an answered call whose FastAGI flow
        has finished is then over for us (see _run)."""
        for call in self.live.values():
            call.ami_lost.set()

    # ------------------------------------------------------------------ calls
    async def place_call(self, request: CallRequest, attempt_id: int,
                         gate: Callable[[], Awaitable[None]] | None = None) -> CallReport:
        """Originate the call of an attempt row that exists (outcome still NULL), follow it
        to its end, write what Asterisk said (times, reason, cause; the AGI route writes the
        listening), and report the outcome. Closing the attempt is the caller's: a test call
        closes it alone, the service releases it to the scheduler with its decisions.
        Never raises for a call that simply failed: that is an outcome.
        `gate` is awaited right before the Originate is written (the service's pacing: the
        carrier counts call set-ups when they reach it, not when they were claimed)."""
        channel_id = f"ivr-{attempt_id}-{secrets.token_hex(3)}"
        call = LiveCall(attempt_id, request, channel_id)
        self.live[attempt_id] = call
        self._by_channel[channel_id] = self._by_channel[channel_id + "-2"] = attempt_id
        try:
            return await self._run(call, gate)
        finally:
            self.live.pop(attempt_id, None)
            self._by_channel.pop(channel_id, None)
            self._by_channel.pop(channel_id + "-2", None)

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
                C.VAR_AGI_URL: self.agi_url,
                C.VAR_AGI_TOKEN: call.agi_token,
            })
        if gate is not None:
            await gate()
        sent_at = self.clock()
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
        except AmiError as e:
            return await self._lost(call, e)
        if response.success:
            await self.store.attempt_answered(call.attempt_id, self.clock(), response.channel)
            if not await self._wait_end(call):
                log.warning("attempt %s: call longer than %s s, hanging up", call.attempt_id,
                            MAX_CALL_SECONDS)
                await self.hang_up(response.channel)
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
        return CallReport(call.attempt_id, outcome, ended_at,
                          attempt.heard_share if attempt else None)

    async def _wait_end(self, call: LiveCall) -> bool:
        """Wait for the Hangup of our channel; if AMI dropped meanwhile, the end of the
        FastAGI flow stands in for it (the flow ends when the channel hangs up)."""
        ended = asyncio.create_task(call.ended.wait())
        lost = asyncio.create_task(self._flow_after_loss(call))
        try:
            done, _ = await asyncio.wait({ended, lost}, timeout=MAX_CALL_SECONDS,
                                         return_when=asyncio.FIRST_COMPLETED)
            return bool(done)
        finally:
            for t in (ended, lost):
                t.cancel()
            await asyncio.gather(ended, lost, return_exceptions=True)

    @staticmethod
    async def _flow_after_loss(call: LiveCall) -> None:
        await call.ami_lost.wait()
        await call.flow_done.wait()

    async def _lost(self, call: LiveCall, error: AmiError) -> CallReport:
        """The Originate got no answer (AMI dropped, Asterisk restarted, timed out). If the
        call reached the IVR anyway, it was answered: wait for the flow; else it failed."""
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
                          attempt.heard_share if attempt else None, link_lost=True)

    async def hang_up(self, channel: str | None) -> None:
        if not channel:
            return
        try:
            await self.ami.hangup(channel)
        except AmiError as e:
            log.error("could not hang up a stuck channel: %s", e)

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float) -> bool:
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


