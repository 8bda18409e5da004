"""What Asterisk itself says each simulated phone heard: read from its own log
(<home>/sandbox/rt/log/messages.log, verbose level 3: dialplan/sandbox/logger.conf), not from
the controller's store.

Every sound Asterisk starts on a channel is logged with the time, the channel and the file:
    [2026-11-30 17:01:10.995] VERBOSE[14060][C-00000009] res_agi.c: <Local/701@sim-phones-
        00000004;1> Playing '/tmp/sounds/mmitra-p017.slin' (escape_digits=19) (sample_offset 0)
        (language 'hi')
(res_agi.c for the FastAGI route's STREAM FILE, file.c for Playback in the dialplan's fallback
and GET DATA). A sound was played to its end when the same channel's next log line comes at
least its length later: a hang-up, a key or a lost call cuts it short and the channel's next
line (the AGI's end, the h extension, the fallback) comes sooner. The lengths come from the
catalogue's WAV files (<sounds>/<language>/<name>.wav).

One call is one ";1" Local channel (its name carries a sequence number unique for the life of
one Asterisk process); the phone is the channel's extension. A message heard twice in one call
(she asked for it again, or the fallback played it after the controller died mid-message) is
one delivery; heard in two calls it is two.
"""
from __future__ import annotations

import re
import wave
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from ivr import constants as C

LINE = re.compile(r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\] VERBOSE\[\d+\]"
                  r"(?:\[C-[0-9a-f]+\])? [\w.]+: (?P<text>.*)$")
CHANNEL = re.compile(r"(?P<channel>Local/(?P<phone>[0-9+]+)@sim-phones-[0-9a-f]+;1)")
PLAYING = re.compile(r"^<(?P<channel>[^>]+)> ?Playing '(?P<sound>[^']+)'.*"
                     r"\(language '(?P<language>[a-z_]+)'\)\s*$")
DIALLED = re.compile(r"^Called (?P<phone>[0-9+]+)@sim-phones$")
TOLERANCE = 0.15        # seconds: log timestamps are ms, a file's end is detected per 20 ms frame


@dataclass(frozen=True)
class Heard:
    """One message played to its end on one call, as Asterisk logged it."""
    node: str
    channel: str         # Local/<phone>@sim-phones-<seq>;1, unique within one Asterisk run
    phone: str
    message: str         # the sound's name, e.g. mmitra-p017
    at: datetime         # when that play started


@dataclass(frozen=True)
class _Line:
    at: datetime
    channel: str
    text: str


def _lines(text: str) -> Iterable[_Line]:
    for raw in text.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        c = CHANNEL.search(m["text"])
        if c:
            yield _Line(datetime.fromisoformat(m["at"]), c["channel"], m["text"])


class SoundLengths:
    """Length in seconds of <sounds>/<language>/<name>.wav, read once each."""

    def __init__(self, sounds: Path):
        self.sounds = sounds
        self._known: dict[tuple[str, str], float | None] = {}

    def __call__(self, language: str, name: str) -> float | None:
        key = (language, name)
        if key not in self._known:
            path = self.sounds / language / f"{name}.wav"
            try:
                with wave.open(str(path)) as w:
                    self._known[key] = w.getnframes() / w.getframerate()
            except (OSError, wave.Error, EOFError):
                self._known[key] = None
        return self._known[key]


def heard(node: str, log_text: str, lengths: SoundLengths) -> list[Heard]:
    """Every message (any sound that is not a prompt of ivr.constants.PROMPTS) played to its
    end on a simulated phone, in the order of the log."""
    by_channel: dict[str, list[_Line]] = {}
    for line in _lines(log_text):
        by_channel.setdefault(line.channel, []).append(line)
    found: list[Heard] = []
    for channel, lines in by_channel.items():
        messages: set[str] = set()
        for i, line in enumerate(lines):
            m = PLAYING.match(line.text)
            if not m:
                continue
            name = m["sound"].rsplit("/", 1)[-1].removesuffix(".slin").removesuffix(".wav")
            length = lengths(m["language"], name)
            if name in C.PROMPTS or name in messages or length is None:
                continue
            after = next((later.at for later in lines[i + 1:] if later.at >= line.at), None)
            if after is not None and (after - line.at).total_seconds() >= length - TOLERANCE:
                messages.add(name)
                found.append(Heard(node, channel, CHANNEL.search(channel)["phone"], name,
                                   line.at))
    return sorted(found, key=lambda h: h.at)


def dialled(log_text: str) -> Counter[str]:
    """How many calls Asterisk placed to each simulated phone (its dial.c "Called" lines)."""
    counts: Counter[str] = Counter()
    for raw in log_text.splitlines():
        m = LINE.match(raw)
        if m and (d := DIALLED.match(m["text"])):
            counts[d["phone"]] += 1
    return counts


def deliveries(records: Iterable[Heard]) -> Counter[tuple[str, str]]:
    """How many calls delivered each (phone, message), over every node."""
    return Counter((h.phone, h.message) for h in records)
