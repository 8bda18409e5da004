"""The values of one call: what to call (CallRequest), what came of it (CallReport), and
what the controller knows while it is live (LiveCall: its events, its AGI session's token).
"""
from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Callable

from ivr.config import Trunk
from ivr.protocol.ami import Hangup, OriginateResponse
from scheduler.outcome import Outcome


@dataclass(frozen=True)
class CallRequest:
    phone: str                 # E.164 digits, validated by the caller
                               # (ivr.protocol.ami.phone_digits)
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
    placed: bool = True             # False: the Originate never became a call (NotPlaced)


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
    # the per-call secret the dialplan passes back to FastAGI (IVR_AGI_TOKEN): a local process
    # that connects to the FastAGI port cannot act on this call without it
    agi_token: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    agi_seen: asyncio.Event = field(default_factory=asyncio.Event)    # the AGI route has it
    reached: asyncio.Event = field(default_factory=asyncio.Event)     # ringing, or answered
    on_reached: Callable[[], None] | None = None
    response: OriginateResponse | None = None     # one that came as an event (after a reconnect)
    responded: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def agi_started(self) -> bool:
        return self.agi_seen.is_set()

    @agi_started.setter
    def agi_started(self, value: bool) -> None:
        if value:
            self.agi_seen.set()
            self.mark_reached()

    def mark_reached(self) -> None:
        """The trunk reached her phone (it rings, or she answered): said once."""
        if not self.reached.is_set():
            self.reached.set()
            if self.on_reached is not None:
                self.on_reached()

    @property
    def uniqueids(self) -> tuple[str, str]:
        """Our channel and, for a Local channel, its second half."""
        return self.channel_id, self.channel_id + "-2"

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
