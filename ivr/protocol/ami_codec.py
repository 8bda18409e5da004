"""The AMI wire protocol as a pure codec (h11 style): bytes in, typed messages out.

No sockets and no asyncio here.  Feed what the socket gave you to ``AmiParser.receive_data``
(``b""`` at end of file) and call ``next_event()`` until it returns ``NEED_DATA`` or ``EOF``.
``parse_buffer`` is the same in one call (wazo-amid's shape).  ``encode_action`` writes an
action, refusing any name or value that could inject headers (``ivr.protocol.ami.safe``).

What Asterisk sends on an AMI socket (recorded from the sandbox, see tests/transcripts/*.ami):

- first a banner line, ``Asterisk Call Manager/<version>``, with no blank line after it;
- then messages: ``Name: value`` lines ended by CR LF, one message ended by an empty line.
  A name may repeat (``ChanVariable``, ``Variable``, ``Output``); order is kept;
- command output (action Command): Asterisk 14 and later answer ``Response: Success`` with one
  ``Output: <line>`` header per line of output; older ones answer ``Response: Follows`` then
  the output as free text (empty lines included) up to a line ending ``--END COMMAND--``.
  Either way the lines come out in ``AmiMessage.output``.

The server side reads the same format (a client's actions): ``AmiParser(banner=False)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable, Mapping, Sequence

from ivr.errors import Unavailable
from ivr.protocol.agi import EOF, NEED_DATA, _Sentinel
from ivr.protocol.ami import HEADER_NAME, safe

MAX_LINE = 64 * 1024           # longest line we accept
MAX_HEADERS = 4096             # lines of one message (CoreShowChannel has ~20, ListCommands ~150)
MAX_OUTPUT = 200_000           # lines of one command's output
END_COMMAND = "--END COMMAND--"
_FOLLOWS_HEADERS = frozenset({"privilege", "actionid", "commandid", "message"})

__all__ = ["EOF", "NEED_DATA", "AmiProtocolError", "Banner", "AmiMessage", "AmiParser",
           "parse_buffer", "encode_action", "message_bytes"]


class AmiProtocolError(Unavailable):
    """The peer sent something that is not AMI (or broke a limit)."""


@dataclass(frozen=True)
class Banner:
    """The first line Asterisk sends: ``Asterisk Call Manager/9.0.0``."""
    text: str

    @property
    def is_asterisk(self) -> bool:
        return self.text.startswith("Asterisk Call Manager/")

    @property
    def version(self) -> str:
        return self.text.partition("/")[2].strip()


@dataclass(frozen=True)
class AmiMessage:
    """One message: a Response, an Event (or, read by a server, an Action).

    ``headers`` keeps every ``(name, value)`` line in order, repeats included; ``output`` the
    lines of command output (``Output:`` headers, or the free text of ``Response: Follows``).
    Lookups by name ignore case, as Asterisk's own do."""
    headers: tuple[tuple[str, str], ...]
    output: tuple[str, ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`."""
        return self._first.get(name.lower(), default)

    @cached_property
    def _first(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for k, v in self.headers:
            first.setdefault(k.lower(), v)
        return first

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self.headers if k.lower() == key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def action(self) -> str | None:
        return self.get("Action")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def success(self) -> bool:
        return self.response in ("Success", "Follows", "Goodbye")

    def as_dict(self) -> dict[str, str | list[str]]:
        """Names as sent; a repeated name maps to the list of its values (panoramisk's shape,
        which ``ivr.protocol.ami.refusal`` and ``parse_event`` read)."""
        out: dict[str, str | list[str]] = dict(self.headers)
        if len(out) == len(self.headers):
            return out                    # no name repeated (most messages)
        out = {}
        for k, v in self.headers:
            if k in out:
                have = out[k]
                out[k] = [*have, v] if isinstance(have, list) else [have, v]
            else:
                out[k] = v
        return out

    def variables(self) -> dict[str, str]:
        """``ChanVariable: NAME=value`` (and ``Variable:``) lines as a dict."""
        out = {}
        for value in self.get_all("ChanVariable") + self.get_all("Variable"):
            name, sep, rest = value.partition("=")
            if sep:
                out[name.strip()] = rest
        return out


Event = Banner | AmiMessage | _Sentinel


class AmiParser:
    """Incremental parser of one AMI connection (``banner=False`` on the server side)."""

    def __init__(self, *, banner: bool = True) -> None:
        self._buf = bytearray()
        self._scan = 0                    # bytes of _buf already searched for a line end
        self._eof = False
        self._done = False
        self._want_banner = banner
        self._headers: list[tuple[str, str]] = []
        self._output: list[str] = []
        self._follows = False             # inside the free text of a Response: Follows
        self._ended = False               # saw --END COMMAND--: the next empty line ends it
        self._lines: list[str] = []       # complete lines split off the buffer, not yet read
        self._sizes: list[int] = []       # their sizes in bytes
        self._next = 0                    # the next of them to read
        self._consumed = 0                # bytes taken as lines so far
        self.message_end = 0              # bytes up to the end of the last message returned

    def receive_data(self, data: bytes) -> None:
        if self._eof:
            if data:
                raise AmiProtocolError("data received after end of file")
            return
        if data:
            self._buf += data
        else:
            self._eof = True

    def _split(self) -> bool:
        """Take every complete line of the buffer at once (one decode and one split, not one
        per line: this is the controller's hot path). False: no complete line yet."""
        if self._buf.find(b"\n", self._scan) < 0:
            self._scan = len(self._buf)
            if self._scan > MAX_LINE:
                raise AmiProtocolError(f"line longer than {MAX_LINE} bytes")
            return False
        end = self._buf.rfind(b"\n")
        block = bytes(self._buf[:end])
        del self._buf[: end + 1]
        self._scan = 0
        sizes = [len(raw) for raw in block.split(b"\n")]
        if max(sizes) > MAX_LINE:
            raise AmiProtocolError(f"line longer than {MAX_LINE} bytes")
        # UTF-8 never makes a newline of other bytes (nor the reverse), even with errors
        # replaced: the decoded block splits into the same lines. A line's own CR goes.
        text = block.decode("utf-8", "replace").replace("\r\n", "\n")
        if text.endswith("\r"):
            text = text[:-1]
        self._lines, self._sizes, self._next = text.split("\n"), sizes, 0
        return True

    def next_event(self) -> Event:
        if self._done:
            return EOF
        while True:
            i = self._next
            if i >= len(self._lines):
                if not self._split():
                    if not self._eof:
                        return NEED_DATA
                    self._done = True
                    if self._buf or self._headers or self._output:
                        raise AmiProtocolError("connection closed in the middle of a message")
                    return EOF
                i = 0
            self._next = i + 1
            self._consumed += self._sizes[i] + 1
            event = self._feed_line(self._lines[i])
            if event is not None:
                return event

    def _feed_line(self, line: str) -> Event | None:
        if self._want_banner:
            self._want_banner = False
            self.message_end = self._consumed
            return Banner(line)
        if self._follows:
            return self._feed_follows(line)
        if line == "":
            if self._headers or self._output:
                return self._finish()
            return None                   # stray blank lines: ignore
        name, sep, value = line.partition(":")
        if not sep:
            name, value = line, ""        # not a header: kept whole, refusal() names it
        else:
            name = name.strip()
            if value[:1] == " ":
                value = value[1:]
        if len(name) == 6 and name.lower() == "output":
            self._add_output(value)
            return None
        headers = self._headers
        if len(headers) >= MAX_HEADERS:
            raise AmiProtocolError(f"message with more than {MAX_HEADERS} lines")
        headers.append((name, value))
        if value == "Follows" and len(headers) == 1 and name.lower() == "response":
            self._follows = True
        return None

    def _feed_follows(self, line: str) -> Event | None:
        if self._ended:
            if line == "":
                return self._finish()
            self._add_output(line)        # (never seen) text after the end marker
            self._ended = False
            return None
        if not self._output and line.partition(":")[0].lower() in _FOLLOWS_HEADERS:
            self._headers.append((line.partition(":")[0].strip(),
                                  line.partition(":")[2].removeprefix(" ")))
            return None
        if line.endswith(END_COMMAND):
            before = line[: -len(END_COMMAND)]
            if before:                    # output whose last line had no line end
                self._add_output(before)
            self._ended = True
            return None
        if line.lower().startswith("output:"):
            line = line[7:].removeprefix(" ")
        self._add_output(line)
        return None

    def _add_output(self, line: str) -> None:
        if len(self._output) >= MAX_OUTPUT:
            raise AmiProtocolError(f"command output longer than {MAX_OUTPUT} lines")
        self._output.append(line)

    def _finish(self) -> AmiMessage:
        message = AmiMessage(tuple(self._headers), tuple(self._output))
        self._headers, self._output = [], []
        self._follows = self._ended = False
        self.message_end = self._consumed
        return message


def parse_buffer(raw: bytes, on_message: Callable[[AmiMessage], None], *,
                 banner: bool = False) -> bytes:
    """Every complete message of `raw` to `on_message`; returns the bytes left over (an
    incomplete message), to be prefixed to the next read."""
    parser = AmiParser(banner=banner)
    if raw:                               # (b"" would mean end of file)
        parser.receive_data(raw)
    while (event := parser.next_event()) is not NEED_DATA and event is not EOF:
        if isinstance(event, AmiMessage):
            on_message(event)
    return raw[parser.message_end:]


def encode_action(fields: Mapping[str, object] | Iterable[tuple[str, object]]) -> bytes:
    """``{"Action": "Ping", "ActionID": "1"}`` -> b"Action: Ping\\r\\nActionID: 1\\r\\n\\r\\n".
    A list value writes the name once per item (``Variable``).  Raises
    ``ivr.protocol.ami.UnsafeValue`` for a CR, LF or NUL anywhere, ValueError for a name that
    is not a header name."""
    return message_bytes(fields)


def message_bytes(fields: Mapping[str, object] | Iterable[tuple[str, object]]) -> bytes:
    """Any AMI message (an action, or a response or event a server sends) as bytes."""
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    lines = []
    for name, value in pairs:
        if not HEADER_NAME.fullmatch(safe(name)):
            raise ValueError(f"not an AMI header name: {str(name)[:40]!r}")
        values: Sequence[object] = value if isinstance(value, (list, tuple)) else [value]
        lines += [f"{name}: {safe(v)}\r\n" for v in values]
    if not lines:
        raise ValueError("empty AMI message")
    return ("".join(lines) + "\r\n").encode("utf-8")
