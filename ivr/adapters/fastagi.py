"""Our FastAGI server: a small asyncio shell around the pure codec in ivr/protocol/agi.py.

Why not panoramisk.fast_agi: it reads one line per command, so after a hang-up the
unsolicited HANGUP line shifts every later reply by one, "(timeout)" is lost, result=-1 is
an error and multi-line 520 replies desync the stream (lab report, gotchas 15-18).

Security: FastAGI has no authentication, so the server refuses to bind anything but a
loopback or private address, serves at most ``max_connections`` at once, gives a connection
``request_timeout`` seconds to send its request, and closes anything that is not AGI with one
log line (no traceback; repeated ones summarised).  Which session belongs to which call is the
route's to check (ivr/agi_route.py: the per-call token).  Privacy: agi_channel and
agi_callerid carry her number, so logs name a connection by its Asterisk uniqueid only.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Protocol

from ivr.adapters.log_throttle import LogThrottle
from ivr.flow import (Action, Answered, Ask, CallResult, Event, Finish, HungUp, OptOutRecorded,
                      Play, Played, RecordOptOut, SetVariable, VariableSet)
from ivr.netaddr import agi_url, private_host
from ivr.protocol.agi import (EOF, NEED_DATA, AgiHangupNotice, AgiParser, AgiProtocolError,
                              AgiReply, AgiRequest, encode_command)

log = logging.getLogger(__name__)

READ_CHUNK = 65536
# commands that play audio or wait for keys: result=-1 there means hung up (or, for a play,
# a file that could not be opened: told apart by a probe, see AgiSession.command)
_MEDIA = frozenset({"STREAM FILE", "CONTROL STREAM FILE", "GET DATA", "GET OPTION",
                    "WAIT FOR DIGIT", "SAY ALPHA", "SAY DIGITS", "SAY NUMBER", "SAY PHONETIC",
                    "SAY DATE", "SAY TIME", "SAY DATETIME", "RECORD FILE"})
_PROBE = ("CHANNEL", "STATUS")
_PROBE_TIMEOUT = 5.0


class AgiHangup(Exception):
    """The channel hung up (HANGUP notice, 511, or result=-1 on a play of a dead channel).
    ``reply`` is the reply that showed it, when there was one (its endpos says how far a
    play got)."""

    def __init__(self, message: str, reply: AgiReply | None = None) -> None:
        super().__init__(message)
        self.reply = reply


class AgiTimeout(Exception):
    """No reply within the command timeout.  The session is closed: a late reply would
    otherwise be taken for the answer to the next command."""


class AgiSession:
    """One FastAGI connection: the request, then one command at a time."""

    def __init__(self, request: AgiRequest, parser: AgiParser, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, command_timeout: float) -> None:
        self.request = request
        self.hung_up = False
        self._parser = parser
        self._reader = reader
        self._writer = writer
        self._timeout = command_timeout
        self._closed = False
        self._lock = asyncio.Lock()
        self._sent: tuple[str, ...] | None = None     # written by send(), reply not read

    @property
    def name(self) -> str:
        """How logs name this call: the Asterisk uniqueid (never the channel: it has her number)."""
        return f"agi[{self.request.uniqueid or '?'}]"

    async def command(self, *words: str, timeout: float | None = None) -> AgiReply:
        """Send one command and return its final reply.

        Raises AgiHangup when the reply shows the channel is gone (511; result=-1 on a media
        command once a probe confirms the hang-up; the connection closed), AgiTimeout when no
        reply comes within ``timeout`` (default: the server's command_timeout), ValueError
        for a word with CR/LF/NUL, AgiProtocolError when Asterisk sends something not AGI.
        """
        data = encode_command(*words)        # ValueError before anything is sent
        async with self._lock:
            reply = self._alive(words, await self._exchange(
                data, self._timeout if timeout is None else timeout))
            verb = " ".join(w.upper() for w in words[:3])
            media = any(verb.startswith(m) for m in _MEDIA)
            if media and reply.code == 200 and reply.result == "-1":
                if self.hung_up or await self._probe_dead():
                    self.hung_up = True
                    raise AgiHangup(f"{self.name}: hung up during {words[0]} {words[1:2]}", reply)
            return reply

    def send(self, *words: str) -> None:
        """Write one command now, with no await (its reply is read later by `reply()`): what
        must reach Asterisk in the same event-loop step as another write (ivr/agi_route.py).
        Raises ValueError for a word with CR/LF/NUL, AgiHangup when the connection is closed,
        RuntimeError when a command is in flight."""
        data = encode_command(*words)
        if self._lock.locked() or self._sent is not None:
            raise RuntimeError(f"{self.name}: a command is in flight")
        if self._closed:
            raise AgiHangup(f"{self.name}: connection closed")
        self._writer.write(data)
        self._sent = words

    async def reply(self, timeout: float | None = None) -> AgiReply:
        """The final reply to the command `send()` wrote (errors as `command()`)."""
        words, self._sent = self._sent, None
        if words is None:
            raise RuntimeError(f"{self.name}: no command sent")
        async with self._lock:
            return self._alive(words, await self._read_after(
                encode_command(*words), self._timeout if timeout is None else timeout))

    def _alive(self, words: tuple[str, ...], reply: AgiReply) -> AgiReply:
        if reply.code == 511:
            self.hung_up = True
            raise AgiHangup(f"{self.name}: {words[0]} refused on a dead channel", reply)
        return reply

    async def _probe_dead(self) -> bool:
        """After result=-1 on a play: is the channel gone, or was it only the file?  Asterisk
        sends its HANGUP notice just before the reply to the next command, so one cheap
        command settles it."""
        try:
            reply = await self._exchange(encode_command(*_PROBE), _PROBE_TIMEOUT)
        except AgiHangup:
            return True
        return self.hung_up or reply.code == 511 or reply.result == "-1"

    async def _exchange(self, data: bytes, timeout: float) -> AgiReply:
        if self._closed:
            raise AgiHangup(f"{self.name}: connection closed")
        self._writer.write(data)
        return await self._read_after(data, timeout)

    async def _read_after(self, data: bytes, timeout: float) -> AgiReply:
        """The reply to `data`, written already."""
        try:
            async with asyncio.timeout(timeout):
                await self._writer.drain()
                return await self._read_reply()
        except TimeoutError:
            self.close()
            raise AgiTimeout(f"{self.name}: no reply to {data.split(b' ', 2)[:2]!r} "
                             f"within {timeout:g} s; connection closed") from None
        except (ConnectionError, OSError) as e:
            self._closed = True
            self.hung_up = True
            raise AgiHangup(f"{self.name}: connection lost ({type(e).__name__})") from None

    async def _read_reply(self) -> AgiReply:
        while True:
            event = self._parser.next_event()
            if event is NEED_DATA:
                self._parser.receive_data(await self._reader.read(READ_CHUNK))
                continue
            if event is EOF:
                self._closed = True
                self.hung_up = True
                raise AgiHangup(f"{self.name}: Asterisk closed the connection")
            if isinstance(event, AgiHangupNotice):
                self.hung_up = True
                continue
            if isinstance(event, AgiReply):
                if event.provisional:
                    continue                 # "100 result=0 Trying...": the final reply follows
                return event
            raise AgiProtocolError(f"{self.name}: unexpected {type(event).__name__} mid-session")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.close()


Handler = Callable[[AgiSession], Awaitable[None]]


def by_route(routes: dict[str, Handler], default: Handler) -> Handler:
    """One handler serving each session by its route (agi://host:port/<route>)."""
    async def handle(session: AgiSession) -> None:
        await routes.get(session.request.route, default)(session)
    return handle


class FastAgiServer:
    """Accepts Asterisk's FastAGI connections and runs ``handler(session)`` for each, in a
    task of its own that ``close()`` cancels and awaits."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 4573,
                 command_timeout: float = 10.0, request_timeout: float = 5.0,
                 max_connections: int = 1000) -> None:
        self._host = private_host(host)
        if not 0 <= port <= 65535:
            raise ValueError(f"FastAGI port {port} out of range")
        if command_timeout <= 0 or request_timeout <= 0:
            raise ValueError("FastAGI timeouts must be > 0")
        if max_connections < 1:
            raise ValueError(f"FastAGI max_connections must be >= 1, got {max_connections}")
        self._max_connections = max_connections
        self._full = LogThrottle(log, logging.WARNING)       # over max_connections
        self._garbage = LogThrottle(log, logging.WARNING)    # not AGI, or too slow
        self._handler = handler
        self._port = port
        self._command_timeout = command_timeout
        self._request_timeout = request_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose when 0 was given)."""
        if self._server is not None and self._server.sockets:
            return self._server.sockets[0].getsockname()[1]
        return self._port

    @property
    def url(self) -> str:
        return agi_url(self._host, self.port)

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("FastAgiServer already started")
        self._server = await asyncio.start_server(self._connected, self._host, self._port)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        if server is not None:
            await asyncio.wait_for(server.wait_closed(), 10)

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= self._max_connections:
            self._full.log("FastAGI: %d connections open already (agi.max_connections); "
                           "a new one closed", self._max_connections)
            await _close(writer)
            return
        self._tasks.add(task)
        session: AgiSession | None = None
        try:
            parser = AgiParser()
            request = await asyncio.wait_for(_read_request(parser, reader), self._request_timeout)
            if request is None:
                return
            session = AgiSession(request, parser, reader, writer, self._command_timeout)
            await self._handler(session)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            self._garbage.log("FastAGI: no complete request within %g s; connection closed",
                               self._request_timeout)
        except AgiProtocolError as e:
            name = session.name if session is not None else "FastAGI"
            self._garbage.log("%s: not AGI (%s); connection closed", name, e)
        except AgiHangup as e:
            log.info("%s", e)
        except (ConnectionError, OSError) as e:
            name = session.name if session is not None else "FastAGI"
            log.info("%s: connection lost (%s)", name, type(e).__name__)
        except Exception:
            name = session.name if session is not None else "agi[?]"
            log.exception("%s: handler failed; connection closed", name)
        finally:
            self._tasks.discard(task)
            await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 2)
    except (OSError, TimeoutError, asyncio.CancelledError):
        pass


async def _read_request(parser: AgiParser, reader: asyncio.StreamReader) -> AgiRequest | None:
    while True:
        event = parser.next_event()
        if event is NEED_DATA:
            parser.receive_data(await reader.read(READ_CHUNK))
            continue
        if event is EOF:
            return None
        if isinstance(event, AgiRequest):
            return event
        raise AgiProtocolError(f"expected the agi_* request first, got {type(event).__name__}")


async def perform(session: AgiSession,
                  action: Play | Ask | SetVariable) -> Played | Answered | VariableSet | HungUp:
    """One media or variable action of a pure flow (ivr/flow.py's Play, Ask, SetVariable) as
    its AGI command, and the reply as the flow's event; HungUp when the channel is gone or
    the session timed out (then closed)."""
    try:
        if isinstance(action, Play):
            reply = await session.command("STREAM", "FILE", action.sound, action.escape_digits,
                                          timeout=action.max_seconds + 5.0)
            if reply.result == "-1":
                log.warning("%s: could not play %s (%s)", session.name, action.sound, reply.text)
            return Played(endpos=reply.endpos, digit=reply.digit)
        if isinstance(action, Ask):
            reply = await session.command(
                "GET", "DATA", action.sound, str(action.timeout_ms), str(action.max_digits),
                timeout=action.max_seconds + action.timeout_ms / 1000 + 5.0)
            digits = reply.result if reply.result not in ("", "-1") else None
            return Answered(digits=digits, timed_out=reply.timeout)
        if isinstance(action, SetVariable):
            await session.command("SET", "VARIABLE", action.name, action.value)
            return VariableSet()
    except AgiHangup as e:
        return HungUp(endpos=e.reply.endpos if e.reply is not None else None)
    except AgiTimeout as e:
        # the session is closed: end the flow with what she heard so far
        log.error("%s", e)
        return HungUp(endpos=None)
    raise TypeError(f"unknown flow action {action!r}")


class Flow(Protocol):
    """The pure in-call machine run_flow drives: ivr/flow.py's CallFlow, or
    ivr/call_questions.py's CallWithQuestions."""
    def start(self) -> Action: ...
    def step(self, event: Event) -> Action: ...


async def run_flow(session: AgiSession, flow: Flow,
                   record_opt_out: Callable[[], Awaitable[bool]] | None = None) -> CallResult:
    """Drive the pure in-call flow over one AGI session until it finishes.
    ``record_opt_out()`` records her opt-out when the flow asks (True: recorded); without
    one an opt-out cannot be recorded and the flow tells her so."""
    action = flow.start()
    while not isinstance(action, Finish):
        event: Event
        if isinstance(action, RecordOptOut):
            ok = record_opt_out is not None and await record_opt_out()
            event = OptOutRecorded(ok=bool(ok))
        else:
            event = await perform(session, action)
        action = flow.step(event)
    return action.result
