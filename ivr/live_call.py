"""The values of one call: what to call (CallRequest), what came of it (CallReport, see
ivr/call_tracker.py), and what the controller holds while it is live (LiveCall: its tracker,
the actions waiting to be carried out, its AGI session's token).
"""
from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Callable

from ivr.call_actions import Action
from ivr.call_report import CallReport
from ivr.call_tracker import CallTracker
from ivr.config import Trunk

__all__ = ["CallReport", "CallRequest", "LiveCall"]


@dataclass(frozen=True)
class CallRequest:
    phone: str                 # E.164 digits, validated by the caller (ivr.phone.Phone)
    language: str
    message_key: str
    trunk: Trunk
    kind: str = "test"
    subscriber_id: int | None = None
    delivery_id: int | None = None
    number: int = 1


@dataclass
class LiveCall:
    attempt_id: int
    request: CallRequest
    channel_id: str
    on_reached: Callable[[], None] | None = None
    # the per-call secret the dialplan passes back to FastAGI (IVR_AGI_TOKEN): a local process
    # that connects to the FastAGI port cannot act on this call without it
    agi_token: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    flow_done: asyncio.Event = field(default_factory=asyncio.Event)   # the AGI route finished
    tracker: CallTracker = field(init=False, repr=False)
    todo: list[Action] = field(default_factory=list, repr=False)      # for the controller
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    waiting_until: float | None = field(default=None, repr=False)   # the task's deadline

    def __post_init__(self) -> None:
        self.tracker = CallTracker(self.attempt_id, self.channel_id,
                                   self.request.trunk.ring_timeout)

    def feed(self, actions: list[Action]) -> None:
        """Actions of the tracker, to be carried out by the call's controller task. It is
        woken too when the input moved the tracker's deadline (the one it waits for)."""
        if actions:
            self.todo.extend(actions)
            self.wake.set()
        elif self.tracker.deadline != self.waiting_until:
            self.wake.set()

    @property
    def agi_started(self) -> bool:
        return self.tracker.agi_started

    @property
    def uniqueids(self) -> tuple[str, str]:
        """Our channel and, for a Local channel, its second half."""
        return self.tracker.uniqueids

    def owns_agi(self, token: str, uniqueid: str) -> bool:
        """Is a FastAGI session with this token, on this channel uniqueid, this call's?  The
        AGI runs on the channel the Originate named (for a Local channel its first half)."""
        return (hmac.compare_digest(token.encode(), self.agi_token.encode())
                and uniqueid == self.channel_id)
