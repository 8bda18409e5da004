"""The AMI gateway: panoramisk, with the traps of the lab report closed.

- The Manager is created inside the running loop (loop= passed), never at import.
- Login is awaited: connect() returns only once Asterisk accepted the login, and fails
  with a clear AmiError on a wrong secret or an unreachable port (panoramisk alone would
  retry for ever and never call on_login).
- "originate" is in forgetable_actions: the transport never re-sends an Originate after a
  reconnect; only the scheduler decides to call again.
- Every value sent is checked for CR/LF/NUL (AMI header injection).
- Events reach the caller as typed dataclasses (ivr.protocol.ami), never as raw dicts.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping

from panoramisk import Manager

from ivr.config import AmiSettings
from ivr.protocol.ami import (Hangup, OriginateResponse, OtherEvent, UserEvent, parse_event,
                              parse_originate_response, safe)

log = logging.getLogger(__name__)

FORGETABLE = ("ping", "login", "logoff", "originate")


class AmiError(Exception):
    """AMI is unreachable, refused the login, or refused an action."""


@dataclass(frozen=True)
class Originate:
    action_id: str
    channel: str
    context: str
    exten: str
    timeout: float                     # seconds of ringing before giving up
    channel_id: str                    # our Uniqueid for the dialled channel
    caller_id: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)

    def action(self) -> dict:
        values = {
            "Action": "Originate",
            "ActionID": safe(self.action_id),
            "Channel": safe(self.channel),
            "Context": safe(self.context),
            "Exten": safe(self.exten),
            "Priority": "1",
            "Timeout": str(int(self.timeout * 1000)),
            "Async": "true",
            "ChannelId": safe(self.channel_id),
            # a Local channel has two halves; name the second so its events are ours too
            "OtherChannelId": safe(self.channel_id + "-2"),
            "Variable": [f"{safe(k)}={safe(v)}" for k, v in self.variables.items()],
        }
        if self.caller_id:
            values["CallerID"] = safe(self.caller_id)
        return values


EventHandler = Callable[[Hangup | UserEvent | OtherEvent], None]


class AmiGateway:
    def __init__(self, settings: AmiSettings, on_event: EventHandler,
                 on_disconnect: Callable[[], None] | None = None):
        self._settings = settings
        self._listeners: list[EventHandler] = [on_event]
        self._on_disconnect = on_disconnect
        self._manager: Manager | None = None

    @property
    def connected(self) -> bool:
        m = self._manager
        return bool(m and m.authenticated and m.protocol and not m.protocol.closed)

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        logged_in: asyncio.Future[bool] = loop.create_future()
        s = self._settings

        def on_connect(manager: Manager) -> None:
            pending = manager.authenticated_future
            if pending is None:
                return

            def done(fut: asyncio.Future) -> None:
                if logged_in.done():
                    return
                if fut.cancelled() or fut.exception() is not None:
                    logged_in.set_result(False)
                else:
                    logged_in.set_result(bool(fut.result().success))
            pending.add_done_callback(done)

        def on_disconnect(manager: Manager, exc: object) -> None:
            log.warning("AMI connection lost (%s); panoramisk reconnects", type(exc).__name__)
            if self._on_disconnect:
                self._on_disconnect()

        self._manager = Manager(
            loop=loop, host=s.host, port=s.port, username=s.username, secret=s.secret,
            ping_delay=max(1, int(s.ping_interval)), ping_interval=max(1, int(s.ping_interval)),
            reconnect_timeout=1, forgetable_actions=FORGETABLE, on_connect=on_connect,
            on_disconnect=on_disconnect)
        self._manager.register_event("*", self._dispatch)
        self._manager.connect()
        try:
            ok = await asyncio.wait_for(logged_in, s.connect_timeout)
        except asyncio.TimeoutError:
            self._manager.close()
            raise AmiError(f"AMI at {s.host}:{s.port} did not answer within "
                           f"{s.connect_timeout:g} s (is Asterisk running?)") from None
        if not ok:
            self._manager.close()
            raise AmiError(f"AMI at {s.host}:{s.port} refused the login of user "
                           f"{s.username!r} (wrong secret or not permitted from here)")

    async def close(self) -> None:
        if self._manager is not None:
            self._manager.close()
            self._manager = None

    def add_listener(self, listener: EventHandler) -> None:
        """Another receiver of every event (monitoring, tests), after the controller."""
        self._listeners.append(listener)

    def _dispatch(self, manager: Manager, message) -> None:
        name = message.get("Event", "")
        if name in ("TestEvent", "OriginateResponse"):
            return
        event = parse_event(message)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:     # one bad listener or event must not stop the stream
                log.exception("error handling AMI event %s", name)

    def _require(self) -> Manager:
        if not self.connected:
            raise AmiError("not connected to AMI")
        return self._manager

    async def originate(self, request: Originate) -> OriginateResponse:
        """Send one Originate (Async) and wait for its outcome: Asterisk answers when the
        call is answered or has failed, so this can take the whole ring timeout."""
        manager = self._require()
        future = manager.send_action(request.action())
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), request.timeout + 30)
        except asyncio.TimeoutError:
            raise AmiError(f"no OriginateResponse for {request.action_id} within "
                           f"{request.timeout + 30:g} s") from None
        if isinstance(reply, list):
            for message in reply:
                if message.get("Event") == "OriginateResponse":
                    return parse_originate_response(message)
            reply = reply[0]
        # a single Response: Asterisk refused the action itself
        raise AmiError(f"Originate {request.action_id} refused: {reply.get('Message', reply)}")

    async def hangup(self, channel: str, cause: int = 16, timeout: float = 10) -> None:
        manager = self._require()
        reply = await asyncio.wait_for(manager.send_action(
            {"Action": "Hangup", "Channel": safe(channel), "Cause": str(int(cause))}), timeout)
        if not reply.success:
            raise AmiError(f"Hangup refused: {reply.get('Message', reply)}")

    async def command(self, cli: str, timeout: float = 10) -> str:
        manager = self._require()
        reply = await asyncio.wait_for(manager.send_command(safe(cli)), timeout)
        output = reply.get("Output", [])
        lines = output if isinstance(output, list) else [output]
        return "\n".join(str(x) for x in lines) or str(getattr(reply, "content", ""))
