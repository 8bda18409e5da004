"""What Asterisk itself says the AGI ran, per call: AMI AGIExecStart / AGIExecEnd events
(class "agi").

The sandbox Asterisk is shared by everyone's tests, and every test database numbers its
attempts from 1, so IVR_ATTEMPT_ID alone does not say whose call an event is about: the
channel's Uniqueid does (the controller names it "ivr-<attempt>-<nonce>", stored as
attempts.uniqueid).  A test adds an AgiLog as an AMI listener, then reads the commands of
one call in order (``commands(uniqueid)``) or waits until n commands matching a predicate
have ended.

The controller's own AMI user does not read the "agi" and "dtmf" classes (least privilege,
dialplan/ami/ivr-manager.conf): ``observer()`` connects the sandbox tests' observer user,
which does.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import AsyncIterator, Callable

from ivr import constants as C
from ivr.adapters.ami import AmiGateway, EventHandler
from ivr.config import Config
from ivr.protocol.ami import OtherEvent, channel_variables


@dataclass(frozen=True)
class AgiCommand:
    uniqueid: str
    attempt_id: int
    channel: str
    command: str           # as Asterisk logged it, e.g. 'STREAM FILE /tmp/.../test-msg "19"'
    result: str | None     # AGIExecEnd's Result ("Success", ...); None while running

    @property
    def verb(self) -> str:
        return " ".join(self.command.split()[:2]).upper()

    def plays(self, name: str) -> bool:
        """A STREAM FILE / GET DATA of the sound whose last path part is `name`."""
        words = self.command.split()
        return (self.verb in ("STREAM FILE", "GET DATA") and len(words) > 2
                and words[2].strip('"').rsplit("/", 1)[-1] == name)


@dataclass
class _Waiter:
    match: Callable[[AgiCommand], bool]
    count: int
    done: asyncio.Event
    found: AgiCommand | None = None


class AgiLog:
    def __init__(self) -> None:
        self._started: dict[str, list[AgiCommand]] = defaultdict(list)
        self._ended: list[AgiCommand] = []
        self._waiters: list[_Waiter] = []

    def __call__(self, event: object) -> None:
        if not isinstance(event, OtherEvent) or event.name not in ("AGIExecStart", "AGIExecEnd"):
            return
        attempt = channel_variables(event.headers).get(C.VAR_ATTEMPT_ID, "")
        uniqueid = event.headers.get("Uniqueid", "")
        if not attempt.isdigit() or not uniqueid:
            return
        cmd = AgiCommand(uniqueid=uniqueid, attempt_id=int(attempt),
                         channel=event.headers.get("Channel", ""),
                         command=event.headers.get("Command", ""),
                         result=event.headers.get("Result") if event.name == "AGIExecEnd" else None)
        if event.name == "AGIExecStart":
            self._started[uniqueid].append(cmd)
            return
        self._ended.append(cmd)
        for w in self._waiters:
            if not w.done.is_set() and w.match(cmd):
                if sum(1 for c in self._ended if w.match(c)) >= w.count:
                    w.found = cmd
                    w.done.set()

    def commands(self, uniqueid: str | None) -> list[AgiCommand]:
        """The commands started on this call (attempts.uniqueid), in order."""
        return list(self._started.get(uniqueid or "", ()))

    async def wait_ended(self, match: Callable[[AgiCommand], bool], count: int,
                         timeout: float) -> AgiCommand:
        """Wait until `count` commands matching `match` have ended; returns the last of them
        (its channel is the AGI's channel)."""
        done = [c for c in self._ended if match(c)]
        if len(done) >= count:
            return done[count - 1]
        waiter = _Waiter(match, count, asyncio.Event())
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter.done.wait(), timeout)
        finally:
            self._waiters.remove(waiter)
        assert waiter.found is not None
        return waiter.found


@asynccontextmanager
async def observer(sandbox, config: Config, *listeners: EventHandler) -> AsyncIterator[AmiGateway]:
    """An AMI connection as the sandbox's test observer, feeding every event to `listeners`."""
    username, secret = sandbox.test_user()

    def dispatch(event) -> None:
        for listener in listeners:
            listener(event)

    gateway = AmiGateway(replace(config.ami, username=username, secret=secret), dispatch)
    await asyncio.wait_for(gateway.connect(), 15)
    try:
        yield gateway
    finally:
        await gateway.close()
