"""A small fake Asterisk on loopback, built on the pure AMI codec, for fast tests of the dial
loop, pacing, reconnect and recovery without the real one.

It speaks enough AMI for ivr.adapters.ami (panoramisk) and our blocking client: the banner,
Login (a wrong secret is refused), Logoff, Ping, Events, ShowDialPlan (the contexts it is
given, so the gateway's readiness check finds ivr-outbound), CoreShowChannels, Hangup,
Command, Status, and Originate (Async: "Originate successfully queued", then the call's
events).  The messages are shaped like the ones recorded from the sandbox Asterisk 22
(tests/transcripts/ami-session.ami): a Local channel has two halves, <ChannelId> and
<ChannelId>-2; a call that fails ends the dialled half (-2) with the cause and the first
half with cause 0; events go to every logged-in session, OriginateResponse included.

A test scripts each call's fate by the number dialled (``fates``), and can drop every AMI
connection (``drop``), count the actions received (``actions``), and hold calls up.

An answered call plays the Asterisk side of FastAGI, as the dialplan ivr-outbound does: it
connects to the call's IVR_AGI_URL with the agi_* environment (the route "call", argument
IVR_ATTEMPT_ID, agi_uniqueid = the ChannelId), and answers each command as Asterisk does for a
phone that listens to the end: GET VARIABLE -> the Originate's channel variable (the route
reads IVR_AGI_TOKEN so), STREAM FILE -> ``200 result=0 endpos=<the
file's length in samples>`` (``200 result=-1 endpos=0`` for a missing file), GET DATA -> ``200
result= (timeout)``, the others ``200 result=1``.  ``Fate.hangs_up_at`` makes her hang up
part-way through the message (``HANGUP``, then 511 on a dead channel, as recorded in
tests/transcripts/hangup-mid-play.agi).  When the route returns, the channels hang up (cause
16), as the dialplan's Hangup() does.
"""
from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from ivr import constants as C
from ivr.protocol.ami_codec import EOF, NEED_DATA, AmiMessage, AmiParser, message_bytes
from tests.fakes.agi_side import FastAgiSide

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
REASON_HANGUP, REASON_RINGING, REASON_ANSWERED, REASON_BUSY, REASON_CONGESTION = 1, 3, 4, 5, 8


@dataclass(frozen=True)
class Fate:
    """What happens to a call: the OriginateResponse Reason and the dialled half's cause."""
    reason: int = REASON_ANSWERED
    cause: int = 16
    ring: float = 0.05              # seconds of ringing before the outcome (at most Timeout)
    refused: bool = False           # the Originate itself is refused (Response: Error)
    agi: bool = True                # answered: play the Asterisk side of FastAGI
    talk: float = 0.0               # answered without FastAGI: seconds up before hanging up
    hangs_up_at: float | None = None  # answered: she hangs up this share into her message
                                      # (not into a prompt)


ANSWERS = Fate()
BUSY = Fate(REASON_BUSY, 17)
NO_ANSWER = Fate(REASON_RINGING, 19, ring=60.0)       # rings until the Originate's Timeout
REJECTS = Fate(REASON_HANGUP, 21)
CONGESTION = Fate(REASON_CONGESTION, 34)
REFUSED = Fate(refused=True)
HANGS_UP_MID_MESSAGE = Fate(hangs_up_at=0.5)


@dataclass
class FakeCall:
    channel_id: str
    digits: str
    fate: Fate
    variables: dict[str, str]
    names: tuple[str, str]                          # the two halves' channel names
    up: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    hangup: asyncio.Event = field(default_factory=asyncio.Event)   # a Hangup action came
    agi_commands: list[str] = field(default_factory=list)
    agi_variables: dict[str, str] = field(default_factory=dict)


class FakeAmi:
    """``async with FakeAmi(fates={...}) as peer:`` listens on 127.0.0.1:<peer.port>."""

    def __init__(self, *, username: str = "ivr", secret: str = "fake-secret",
                 contexts: tuple[str, ...] = (C.CONTEXT_OUTBOUND,),
                 fates: dict[str, Fate] | Callable[[str], Fate] | None = None,
                 default: Fate = ANSWERS) -> None:
        self.username, self.secret = username, secret
        self.contexts = contexts
        self._fates = fates or {}
        self.default = default
        self.actions: Counter[str] = Counter()       # action name -> how many received
        self.originates: list[AmiMessage] = []
        self.calls: dict[str, FakeCall] = {}         # ChannelId -> call (ended ones too)
        self.logins = 0
        self.hold = asyncio.Event()                  # set: calls may end (see hold_calls)
        self.hold.set()
        self._ring_gates: dict[str, asyncio.Event] = {}
        self.originated_at: list[float] = []         # loop time of each Originate received
        self.most_live = 0                           # most calls up at once (an Originate's view)
        self._sessions: set[_Session] = set()
        self._tasks: set[asyncio.Task] = set()
        self._seq = itertools.count()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0
        self.changed = asyncio.Condition()

    async def __aenter__(self) -> "FakeAmi":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop()
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    # ---------------------------------------------------------------- for tests
    def fate(self, digits: str) -> Fate:
        if callable(self._fates):
            return self._fates(digits)
        return self._fates.get(digits, self.default)

    def drop(self) -> None:
        """Cut every AMI connection now (the calls go on, as in Asterisk)."""
        for session in list(self._sessions):
            session.writer.transport.abort()

    def hold_calls(self) -> None:
        """Calls reach their outcome but do not end (ring on, stay up) until release_calls."""
        self.hold.clear()

    def release_calls(self) -> None:
        self.hold.set()

    def ring_until(self, digits: str) -> asyncio.Event:
        """Calls to `digits` ring (no outcome) until the returned event is set."""
        return self._ring_gates.setdefault(digits, asyncio.Event())

    def live(self) -> int:
        return sum(not c.ended.is_set() for c in self.calls.values())

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)
        await asyncio.wait_for(wait(), timeout)

    async def _changed(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    # ---------------------------------------------------------------- AMI sessions
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, writer)
        self._sessions.add(session)
        writer.write(BANNER)
        parser = AmiParser(banner=False)
        try:
            while True:
                event = parser.next_event()
                if event is NEED_DATA:
                    parser.receive_data(await reader.read(65536))
                    continue
                if event is EOF or not isinstance(event, AmiMessage):
                    break
                if not await session.handle(event):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._sessions.discard(session)
            writer.close()

    def broadcast(self, fields: list[tuple[str, str]]) -> None:
        data = message_bytes(fields)
        for session in list(self._sessions):
            if session.logged_in and session.events:
                session.writer.write(data)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- calls
    def originate(self, action: AmiMessage) -> FakeCall | None:
        digits = re.sub(r"^[^/]*/([^@]*)@.*$", r"\1", action.get("Channel") or "")
        fate = self.fate(digits)
        self.originates.append(action)
        self.originated_at.append(asyncio.get_running_loop().time())
        if fate.refused:
            return None
        channel_id = action.get("ChannelId") or f"fake-{next(self._seq)}"
        n = next(self._seq)
        base = f"{action.get('Channel')}-{n:08x}"
        variables = {}
        for item in action.get_all("Variable"):
            name, _, value = item.partition("=")
            variables[name.lstrip("_")] = value
        call = FakeCall(channel_id, digits, fate, variables, (base + ";1", base + ";2"))
        self.calls[channel_id] = call
        self.most_live = max(self.most_live, self.live())
        self._spawn(self._run(call, action.action_id or "",
                              float(action.get("Timeout") or 30000) / 1000))
        return call

    def _event(self, name: str, call: FakeCall, half: int, extra: list[tuple[str, str]],
               *, state: tuple[str, str] = ("6", "Up")) -> None:
        uid = call.channel_id + ("-2" if half == 2 else "")
        self.broadcast([("Event", name), ("Privilege", "call,all"),
                        ("Channel", call.names[half - 1]), ("ChannelState", state[0]),
                        ("ChannelStateDesc", state[1]), ("CallerIDNum", call.digits),
                        ("CallerIDName", "<unknown>"), ("Language", "en"),
                        ("Context", C.CONTEXT_OUTBOUND), ("Exten", C.EXTEN_START),
                        ("Priority", "1"), ("Uniqueid", uid), ("Linkedid", call.channel_id),
                        ("ChanVariable",
                         f"{C.VAR_ATTEMPT_ID}={call.variables.get(C.VAR_ATTEMPT_ID, '')}"),
                         *extra])

    async def _run(self, call: FakeCall, action_id: str, timeout: float) -> None:
        fate = call.fate
        self._event("Newstate", call, 2, [], state=("5", "Ringing"))
        await self._until_hangup(call, min(fate.ring, timeout))
        if call.digits in self._ring_gates:
            await self._first(call, self._ring_gates[call.digits])
        answered = fate.reason == REASON_ANSWERED and not call.hangup.is_set()
        reason = fate.reason if not call.hangup.is_set() else REASON_HANGUP
        if fate.reason == REASON_ANSWERED and not answered:
            reason = REASON_HANGUP
        if answered:
            call.up = True
            self._event("Newstate", call, 2, [])
        self.broadcast([("Event", "OriginateResponse"), ("Privilege", "call,all"),
                        ("ActionID", action_id),
                        ("Response", "Success" if answered else "Failure"),
                        ("Channel", call.names[0]), ("Context", C.CONTEXT_OUTBOUND),
                        ("Exten", C.EXTEN_START), ("Reason", str(reason)),
                        ("Uniqueid", call.channel_id), ("CallerIDNum", "<unknown>"),
                        ("CallerIDName", "<unknown>")])
        await self._changed()
        cause = 16
        if answered:
            if fate.agi:
                await FastAgiSide(call).run()
            else:
                await self._until_hangup(call, fate.talk)
        else:
            cause = fate.cause
        await self._first(call, self.hold)
        self._event("Hangup", call, 2, [("Cause", str(cause)), ("Cause-txt", "")])
        self._event("Hangup", call, 1, [("Cause", "16" if answered else "0"),
                                        ("Cause-txt", "")])
        call.ended.set()
        await self._changed()

    async def _first(self, call: FakeCall, event: asyncio.Event) -> None:
        """Wait for `event`, or for a Hangup action on the call."""
        waiters = [asyncio.ensure_future(event.wait()),
                   asyncio.ensure_future(call.hangup.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _until_hangup(self, call: FakeCall, seconds: float) -> None:
        try:
            await asyncio.wait_for(call.hangup.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    def channels(self) -> list[tuple[str, str]]:
        return [(name, call.channel_id + ("-2" if name.endswith(";2") else ""))
                for call in self.calls.values() if not call.ended.is_set()
                for name in call.names]


class _Session:
    def __init__(self, peer: FakeAmi, writer: asyncio.StreamWriter) -> None:
        self.peer = peer
        self.writer = writer
        self.logged_in = False
        self.events = True

    def reply(self, action: AmiMessage, fields: list[tuple[str, str]]) -> None:
        self.writer.write(message_bytes([fields[0], ("ActionID", action.action_id or ""),
                                         *fields[1:]]))

    async def handle(self, action: AmiMessage) -> bool:
        """Answer one action; False: close the connection."""
        peer = self.peer
        name = (action.action or "").lower()
        peer.actions[name] += 1
        if name == "login":
            if action.get("Username") != peer.username or action.get("Secret") != peer.secret:
                self.reply(action, [("Response", "Error"), ("Message", "Authentication failed")])
                await self.writer.drain()
                await peer._changed()
                return False
            self.logged_in = True
            self.events = (action.get("Events") or "on").lower() != "off"
            peer.logins += 1
            self.reply(action, [("Response", "Success"),
                                ("Message", "Authentication accepted")])
        elif not self.logged_in:
            self.reply(action, [("Response", "Error"), ("Message", "Permission denied")])
        elif name == "logoff":
            self.reply(action, [("Response", "Goodbye"), ("Message", "Thanks for all the fish.")])
            await self.writer.drain()
            return False
        elif name == "ping":
            self.reply(action, [("Response", "Success"), ("Ping", "Pong"),
                                ("Timestamp", "1796038507.000000")])
        elif name == "events":
            self.events = (action.get("EventMask") or "on").lower() != "off"
            self.reply(action, [("Response", "Success"), ("Events", "On")])
        elif name == "showdialplan":
            self._show_dialplan(action)
        elif name == "coreshowchannels":
            self._list(action, "CoreShowChannel", [[("Channel", n), ("Uniqueid", u),
                                                     ("Context", C.CONTEXT_OUTBOUND),
                                                     ("Application", "AGI")]
                                                    for n, u in peer.channels()],
                       "CoreShowChannelsComplete")
        elif name == "hangup":
            self._hangup(action)
        elif name == "command":
            self.reply(action, [("Response", "Success"), ("Message", "Command output follows"),
                                ("Output", f"fake: {action.get('Command')}")])
        elif name == "originate":
            if peer.originate(action) is None:
                self.reply(action, [("Response", "Error"), ("Message", "Originate failed")])
            else:
                self.reply(action, [("Response", "Success"),
                                    ("Message", "Originate successfully queued")])
        else:
            self.reply(action, [("Response", "Error"), ("Message", "Invalid/unknown command")])
        await self.writer.drain()
        await peer._changed()                   # wait_for's predicates see every action
        return True

    def _show_dialplan(self, action: AmiMessage) -> None:
        context = action.get("Context")
        if context is not None and context not in self.peer.contexts:
            self.reply(action, [("Response", "Error"),
                                ("Message", f"Did not find context {context}")])
            return
        steps = [[("Context", c), ("Extension", C.EXTEN_START), ("Priority", "1"),
                  ("Application", "NoOp"), ("AppData", ""), ("Registrar", "pbx_config")]
                 for c in self.peer.contexts if context in (None, c)]
        self._list(action, "ListDialplan", steps, "ShowDialPlanComplete")

    def _list(self, action: AmiMessage, item: str, items: list[list[tuple[str, str]]],
              complete: str) -> None:
        self.reply(action, [("Response", "Success"), ("EventList", "start"),
                            ("Message", "Results will follow")])
        for fields in items:
            self.reply(action, [("Event", item), *fields])
        self.reply(action, [("Event", complete), ("EventList", "Complete"),
                            ("ListItems", str(len(items)))])

    def _hangup(self, action: AmiMessage) -> None:
        channel = action.get("Channel")
        for call in self.peer.calls.values():
            if channel in call.names and not call.ended.is_set():
                call.hangup.set()
                self.reply(action, [("Response", "Success"),
                                    ("Message", "Channel Hungup")])
                return
        self.reply(action, [("Response", "Error"), ("Message", "No such channel")])
