"""The AMI gateway: panoramisk, with the traps of the lab report closed.

- The Manager is created inside the running loop (loop= passed), never at import.
- Login is awaited: connect() returns only once Asterisk accepted the login, and fails
  with a clear AmiError on a wrong secret or an unreachable port (panoramisk alone would
  retry for ever and never call on_login).
- "originate" is in forgetable_actions: the transport never re-sends an Originate after a
  reconnect; only the scheduler decides to call again.
- Every value sent is checked for CR/LF/NUL (AMI header injection).
- Events reach the caller as typed dataclasses (ivr.protocol.ami), never as raw dicts.
- The byte stream is framed by our pure codec (ivr.protocol.ami_codec), the one every AMI
  client here uses; panoramisk keeps its routing of answers to actions.
- A message ivr.protocol.ami.refusal refuses (a caller ID's line breaks made it: repeated or
  unexpected headers) is dropped before panoramisk routes it (one throttled log line): it
  never resolves an action, and never reaches panoramisk's handling (a repeated Event header
  made it raise and drop the connection).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping, NamedTuple

from panoramisk import Manager

from ivr.adapters.ami_link import BACKOFF_FIRST, _Manager
from ivr.config import AmiSettings
from ivr.errors import Unavailable
from ivr.protocol.ami import (Hangup, OriginateResponse, OtherEvent, UnsafeMessage, UserEvent,
                             parse_event, parse_originate_response, safe)

log = logging.getLogger(__name__)

# Actions panoramisk must never re-send after a reconnect: every one we send. An Originate
# re-sent would call her twice; a Hangup re-sent would name a channel of the Asterisk before a
# restart (names start again from 00000000 and may now be another woman's call).
FORGETABLE = ("ping", "login", "logoff", "originate", "hangup", "coreshowchannels", "command",
              "showdialplan")
READY_POLL = 0.2           # after a login, how often to ask whether the dialplan is loaded
READY_WAIT = 15.0


class AmiError(Unavailable):
    """AMI is unreachable, refused the login, or refused an action."""


class NotPlaced(AmiError):
    """The Originate never became a call: it could not be sent, or Asterisk refused it
    (shutting down, say). Nothing rang; it says nothing of her nor of the trunk."""


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


class Channel(NamedTuple):
    """One line of CoreShowChannels."""
    name: str
    uniqueid: str
    context: str = ""
    application: str = ""


EventHandler = Callable[[Hangup | UserEvent | OtherEvent | OriginateResponse], None]


class AmiGateway:
    def __init__(self, settings: AmiSettings, on_event: EventHandler,
                 on_disconnect: Callable[[], None] | None = None,
                 on_login: Callable[[], None] | None = None,
                 ready_context: str | None = None):
        """`ready_context`: a dialplan context the calls need; after each login the link
        counts as up only once Asterisk has it (AMI takes logins while Asterisk still boots,
        before its dialplan is loaded: an Originate then would fail)."""
        self._settings = settings
        self._ready_context = ready_context
        self._ready = False
        self._listeners: list[EventHandler] = [on_event]
        self._on_disconnect = on_disconnect
        self._on_login = on_login
        self._up = asyncio.Event()                # logged in now
        self.losses = 0            # link losses and Shutdown announcements so far
        self._manager: Manager | None = None
        self._pending: set[asyncio.Future] = set()      # Originates awaiting their outcome
        self._keepalive: asyncio.Task | None = None
        self._readying: asyncio.Future | None = None     # _when_ready after a login
        self._logins = 0
        self.reconnects = 0
        self._logged_in_once = False

    @property
    def connected(self) -> bool:
        m = self._manager
        return bool(self._ready and m and m.authenticated and m.protocol
                    and not m.protocol.closed)

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
            self._up.clear()
            self._ready = False
            self.losses += 1
            log.warning("AMI connection lost; reconnecting in %.0f s", manager.reconnect_timeout)
            for future in list(self._pending):
                if not future.done():
                    future.set_exception(AmiError("AMI connection lost before the outcome"))
            if self._on_disconnect:
                self._on_disconnect()

        def on_login(manager: Manager) -> None:
            if self._logged_in_once:
                self.reconnects += 1
                log.warning("AMI logged in again (reconnect %d)", self.reconnects)
            self._logged_in_once = True
            manager.reconnect_timeout = BACKOFF_FIRST
            self._logins += 1
            if self._readying is not None:
                self._readying.cancel()
            self._readying = asyncio.ensure_future(self._when_ready(manager, self._logins))

        # panoramisk's own pinger only sends; ours (_keep_alive) also notices no answer
        self._manager = _Manager(
            loop=loop, host=s.host, port=s.port, username=s.username, secret=s.secret,
            ping_delay=10 ** 6, ping_interval=10 ** 6, reconnect_timeout=BACKOFF_FIRST,
            forgetable_actions=FORGETABLE, on_connect=on_connect, on_disconnect=on_disconnect,
            on_login=on_login)
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
        if not await self.wait_connected(s.connect_timeout):
            self._manager.close()
            raise AmiError(f"Asterisk at {s.host}:{s.port} took the login but its dialplan "
                           f"has no [{self._ready_context}] within {s.connect_timeout:g} s "
                           "(still booting, or the dialplan files are not included)")
        self._keepalive = asyncio.create_task(self._keep_alive(), name="ami-keepalive")

    async def _when_ready(self, manager: Manager, login: int) -> None:
        """After a login: wait until Asterisk has the calls' dialplan context, then the link
        is up (calls may go). Gives up when this login is no longer the link's."""
        def current() -> bool:
            return (manager is self._manager and login == self._logins
                    and bool(manager.authenticated and manager.protocol
                             and not manager.protocol.closed))

        if self._ready_context is not None:
            for _ in range(int(READY_WAIT / READY_POLL)):
                if not current():
                    return                          # closed or lost meanwhile
                try:
                    reply = await asyncio.wait_for(manager.send_action(
                        {"Action": "ShowDialPlan", "Context": self._ready_context},
                        as_list=True), READY_POLL * 5)
                except (asyncio.TimeoutError, OSError):
                    continue
                first = reply[0] if isinstance(reply, list) and reply else reply
                if first is not None and first.get("Response") != "Error":
                    break
                await asyncio.sleep(READY_POLL)
            else:
                log.warning("AMI: no [%s] in the dialplan after %.0f s; going on",
                            self._ready_context, READY_WAIT)
        if not current():
            return
        self._ready = True
        self._up.set()
        if self._on_login is not None and self.reconnects:
            self._on_login()

    async def close(self) -> None:
        if self._readying is not None:
            self._readying.cancel()
            await asyncio.gather(self._readying, return_exceptions=True)
        if self._keepalive is not None:
            self._keepalive.cancel()
            await asyncio.gather(self._keepalive, return_exceptions=True)
            self._keepalive = None
        if self._manager is not None:
            manager, self._manager = self._manager, None
            manager.close()
            # a reconnect panoramisk already scheduled must not revive a closed gateway
            manager.connect = lambda *a, **k: None

    async def _keep_alive(self) -> None:
        """Ping every ping_interval; no answer within it means the link is dead: drop the
        transport so panoramisk reconnects (with our backoff)."""
        interval = self._settings.ping_interval
        while True:
            await asyncio.sleep(interval)
            manager = self._manager
            if manager is None or not self.connected:
                continue
            try:
                await asyncio.wait_for(manager.send_action({"Action": "Ping"}), interval)
            except (asyncio.TimeoutError, OSError):
                log.warning("AMI ping unanswered within %.0f s: reconnecting", interval)
                transport = getattr(manager.protocol, "transport", None)
                if transport is not None:
                    transport.abort()

    async def wait_connected(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until AMI is logged in; True if it is."""
        if self.connected:
            return True
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return self.connected

    def add_listener(self, listener: EventHandler) -> None:
        """Another receiver of every event (monitoring, tests), after the controller."""
        self._listeners.append(listener)

    def _dispatch(self, manager: Manager, message) -> None:
        name = message.get("Event", "")
        if name == "TestEvent":
            return
        if name == "Shutdown":
            self.losses += 1            # panoramisk drops the link right after it
        try:
            # an OriginateResponse reaches us here only when its Originate was sent before a
            # reconnect (panoramisk gives the others to their action's future)
            event = (parse_originate_response(message) if name == "OriginateResponse"
                     else parse_event(message))
        except UnsafeMessage as e:          # _Protocol drops these already
            log.warning("AMI event %s refused: %s", str(name)[:40], e)
            return
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
        return await self.originate_outcome(request, self.send_originate(request))

    def send_originate(self, request: Originate) -> asyncio.Future:
        """Write the Originate to the socket now (the moment pacing counts); the future
        resolves with Asterisk's answer: pass it to originate_outcome."""
        if not self.connected:
            raise NotPlaced("not connected to AMI")
        future = self._require().send_action(request.action())
        self._pending.add(future)
        return future

    async def originate_outcome(self, request: Originate,
                                future: asyncio.Future) -> OriginateResponse:
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), request.timeout + 30)
        except asyncio.TimeoutError:
            raise AmiError(f"no OriginateResponse for {request.action_id} within "
                           f"{request.timeout + 30:g} s") from None
        finally:
            self._pending.discard(future)
        if isinstance(reply, list):
            for message in reply:
                if message.get("Event") == "OriginateResponse":
                    return parse_originate_response(message)
            reply = reply[0]
        # a single Response: Asterisk refused the action itself
        raise NotPlaced(f"Originate {request.action_id} refused: {reply.get('Message', reply)}")

    async def hangup(self, channel: str, cause: int = 16, timeout: float = 10) -> None:
        manager = self._require()
        reply = await asyncio.wait_for(manager.send_action(
            {"Action": "Hangup", "Channel": safe(channel), "Cause": str(int(cause))}), timeout)
        if not reply.success:
            raise AmiError(f"Hangup refused: {reply.get('Message', reply)}")

    async def channels(self, timeout: float = 10) -> list[Channel]:
        """Every channel Asterisk has now (CoreShowChannels)."""
        manager = self._require()
        replies = await asyncio.wait_for(
            manager.send_action({"Action": "CoreShowChannels"}, as_list=True), timeout)
        replies = replies if isinstance(replies, list) else [replies]
        if replies and replies[0].get("Response") == "Error":
            raise AmiError(f"CoreShowChannels refused: {replies[0].get('Message')}")
        return [Channel(str(r.get("Channel")), str(r.get("Uniqueid")), str(r.get("Context", "")),
                        str(r.get("Application", ""))) for r in replies
                if r.get("Event") == "CoreShowChannel"]

    async def command(self, cli: str, timeout: float = 10) -> str:
        manager = self._require()
        reply = await asyncio.wait_for(manager.send_command(safe(cli)), timeout)
        output = reply.get("Output", [])
        lines = output if isinstance(output, list) else [output]
        return "\n".join(str(x) for x in lines) or str(getattr(reply, "content", ""))
