"""The FastAGI wire protocol as a pure codec (h11 style): bytes in, typed events out.

No sockets and no asyncio here.  Feed what the socket gave you to ``AgiParser.receive_data``
(``b""`` at end of file) and call ``next_event()`` until it returns ``NEED_DATA`` or ``EOF``.

What Asterisk 22 sends on a FastAGI socket (measured on the sandbox, see tests/transcripts/):

- first the request: ``agi_<name>: <value>`` lines, then an empty line;
- then one reply per command: ``<code> <text>``, one line, except the usage error which is
  ``520-...`` lines up to and including ``520 End of proper usage.``;
- and, unsolicited, once, a ``HANGUP`` line when the channel hangs up.  It can arrive between
  two replies at any moment; a client that reads exactly one line per command is off by one
  after it (panoramisk's bug).  Here it is an event of its own, so replies stay in sync.

Reply forms seen: ``200 result=0 endpos=22290`` (played to the end), ``200 result=49
endpos=17760`` (interrupted by DTMF '1', ASCII 49), ``200 result=-1 endpos=12160`` (hung up, or
the file could not be opened), ``200 result= (timeout)`` (GET DATA, nothing pressed),
``200 result=12 (timeout)`` (some digits then silence), ``200 result=1 (1001)`` (GET VARIABLE),
``200 result=-1 Gosub label not found`` (free text), ``100 result=0 Trying...`` (provisional),
``510 Invalid or unknown command``, ``511 Command Not Permitted on a dead channel ...``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from ivr.errors import Unavailable

MAX_LINE = 64 * 1024          # longest line we accept (a usage text line is < 1 KiB)
MAX_ENV_LINES = 512           # agi_* header lines in one request (Asterisk sends ~25 + args)
MAX_USAGE_LINES = 1000        # lines of one multi-line 520 reply
_DTMF = frozenset("0123456789*#ABCD")


class AgiProtocolError(Unavailable):
    """The peer sent something that is not AGI (or broke a limit)."""


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA = _Sentinel("NEED_DATA")   # next_event(): feed more bytes first
EOF = _Sentinel("EOF")               # next_event(): the peer closed the connection


@dataclass(frozen=True)
class AgiRequest:
    """The agi_* environment Asterisk sends when it opens a FastAGI connection."""
    env: Mapping[str, str]

    @property
    def route(self) -> str:
        """The path of agi://host:port/<route>, without slashes or query ("call")."""
        script = self.env.get("agi_network_script")
        if script is None:
            request = self.env.get("agi_request", "")
            m = re.match(r"^agi://[^/]*/?(.*)$", request)
            script = m.group(1) if m else ""
        return script.split("?", 1)[0].strip("/")

    @property
    def args(self) -> tuple[str, ...]:
        """agi_arg_1 .. agi_arg_n, in order (stops at the first missing index)."""
        out: list[str] = []
        i = 1
        while f"agi_arg_{i}" in self.env:
            out.append(self.env[f"agi_arg_{i}"])
            i += 1
        return tuple(out)

    @property
    def language(self) -> str:
        return self.env.get("agi_language", "")

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def callerid(self) -> str:
        return self.env.get("agi_callerid", "")


@dataclass(frozen=True)
class AgiReply:
    """One reply to one command.

    ``result`` is the text after ``result=`` ("" when absent or empty); ``data`` the text in
    parentheses, if any (None when absent; also None for the ``(timeout)`` marker, which sets
    ``timeout`` instead); ``endpos`` the sample position a play stopped at; ``text`` the whole
    reply as received (lines joined with "\\n"), for logs and for the free-text replies.
    Caution: GET VARIABLE of a variable whose value is literally "timeout" looks like a
    timeout marker; callers of GET VARIABLE should read ``text`` if that matters.
    """
    code: int
    result: str
    data: str | None
    endpos: int | None
    timeout: bool
    text: str

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def provisional(self) -> bool:
        """1xx (for instance ``100 result=0 Trying...`` before a GOSUB): a final reply follows."""
        return 100 <= self.code < 200

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def digit(self) -> str | None:
        """For STREAM FILE / WAIT FOR DIGIT: the key pressed (result is its ASCII code)."""
        n = self.result_int
        if n is None or not 0 < n < 128:
            return None
        ch = chr(n)
        return ch if ch in _DTMF else None


@dataclass(frozen=True)
class AgiHangupNotice:
    """The unsolicited ``HANGUP`` line: the channel hung up (AGI keeps running 'dead')."""


Event = AgiRequest | AgiReply | AgiHangupNotice | _Sentinel

_STATUS = re.compile(r"^(\d{3})([ -])(.*)$", re.DOTALL)
_RESULT = re.compile(r"^result=(\S*)(.*)$", re.DOTALL)
_DATA = re.compile(r"^ \((.*)\)(.*)$", re.DOTALL)
_ENDPOS = re.compile(r"(?:^| )endpos=(-?\d+)(?= |$)")


def parse_reply(text: str) -> AgiReply:
    """One complete reply (for a 520 the joined lines) -> AgiReply.  Raises AgiProtocolError."""
    m = _STATUS.match(text)
    if not m:
        raise AgiProtocolError(f"not an AGI reply: {text[:80]!r}")
    code = int(m.group(1))
    rest = m.group(3)
    result, data, endpos, timeout = "", None, None, False
    r = _RESULT.match(rest)
    if r:
        result, tail = r.group(1), r.group(2)
        d = _DATA.match(tail)
        if d:
            data, tail = d.group(1), d.group(2)   # greedy: data may contain ")"
        e = _ENDPOS.search(tail)
        if e:
            endpos = int(e.group(1))
        if data == "timeout":
            data, timeout = None, True
    return AgiReply(code=code, result=result, data=data, endpos=endpos, timeout=timeout, text=text)


class AgiParser:
    """Incremental parser of what Asterisk sends on one FastAGI connection."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._eof = False
        self._env: dict[str, str] | None = {}     # None once the request block is complete
        self._usage: list[str] | None = None      # lines of a 520 reply in progress
        self._done = False

    def receive_data(self, data: bytes) -> None:
        if self._eof:
            if data:
                raise AgiProtocolError("data received after end of file")
            return
        if data:
            self._buf += data
        else:
            self._eof = True

    def _line(self) -> str | None:
        i = self._buf.find(b"\n")
        if i < 0:
            if len(self._buf) > MAX_LINE:
                raise AgiProtocolError(f"line longer than {MAX_LINE} bytes")
            return None
        if i > MAX_LINE:
            raise AgiProtocolError(f"line longer than {MAX_LINE} bytes")
        raw = bytes(self._buf[:i])
        del self._buf[: i + 1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return raw.decode("utf-8", errors="replace")

    def next_event(self) -> Event:
        if self._done:
            return EOF
        while True:
            line = self._line()
            if line is None:
                if not self._eof:
                    return NEED_DATA
                if self._buf or self._usage is not None or (self._env is not None and self._env):
                    self._done = True
                    raise AgiProtocolError("connection closed in the middle of a message")
                self._done = True
                return EOF
            event = self._feed_line(line)
            if event is not None:
                return event

    def _feed_line(self, line: str) -> Event | None:
        if self._env is not None:
            if line == "":
                if not self._env:
                    return None        # tolerate blank lines before the request
                env, self._env = self._env, None
                return AgiRequest(MappingProxyType(env))
            name, sep, value = line.partition(":")
            if not sep or not name.startswith("agi_"):
                raise AgiProtocolError(f"bad request line: {line[:80]!r}")
            if len(self._env) >= MAX_ENV_LINES:
                raise AgiProtocolError("too many request lines")
            name = name.strip()
            if name in self._env:
                # Asterisk sends each once; a second one is an injected line (a caller ID
                # with a line break in it), never to be taken for the first
                raise AgiProtocolError(f"repeated request line {name[:40]!r}")
            self._env[name] = value[1:] if value.startswith(" ") else value
            return None
        if self._usage is not None:
            self._usage.append(line)
            if line.startswith("520 ") or line.endswith("520 End of proper usage."):
                text, self._usage = "\n".join(self._usage), None
                return parse_reply(text)
            if len(self._usage) > MAX_USAGE_LINES:
                raise AgiProtocolError("520 usage reply too long")
            return None
        if line == "HANGUP":
            return AgiHangupNotice()
        if line == "":
            return None                # stray empty line between replies: ignore
        if line.startswith("520-"):
            self._usage = [line]
            return None
        return parse_reply(line)


_FORBIDDEN = ("\r", "\n", "\0")
_NEEDS_QUOTES = re.compile(r'[\s"\\]')


def quote_word(word: str) -> str:
    """One command word as Asterisk's parse_args reads it: bare when safe, else in double
    quotes with backslash escapes.  Raises ValueError on CR, LF or NUL (command injection)."""
    if not isinstance(word, str):
        raise TypeError(f"AGI command words are str, got {type(word).__name__}")
    for ch in _FORBIDDEN:
        if ch in word:
            raise ValueError(f"AGI command word contains {ch!r}: refused (command injection)")
    if word and not _NEEDS_QUOTES.search(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_command(*words: str) -> bytes:
    """``encode_command("STREAM", "FILE", "/x/hello", "19")`` -> b'STREAM FILE /x/hello 19\\n'."""
    if not words:
        raise ValueError("empty AGI command")
    if not words[0] or _NEEDS_QUOTES.search(words[0]):
        raise ValueError(f"bad AGI command name: {words[0]!r}")
    return (" ".join(quote_word(w) for w in words) + "\n").encode("utf-8")
