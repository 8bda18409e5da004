"""The audio catalogue: which files should exist, where they live, and what is wrong with them.

Pure: no pydub, no asyncio, no subprocess. The layout is `<sounds>/<lang>/<name>.wav`, 8 kHz mono
16-bit PCM, where <name> is a programme message key or a prompt name (ivr.constants.PROMPTS).
Asterisk is told `STREAM FILE <sounds>/<name>` and picks `<sounds>/<lang>/<name>.wav` by the
channel's language itself (it puts the language's folder before the file's name).

A programme may have its own recording of any file (its own English "press 1 for ...", say) in
its own folder, `<sounds>/<programme>/<lang>/<name>.wav`: a call of a woman of that programme
plays it (Asterisk is told `<sounds>/<programme>/<name>`), else the shared file.
Facts about files (read by audio/probe.py) come in as FileFacts;
validate() turns them into Problems against Limits.
"""
from __future__ import annotations

import math
import os
import re
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from ivr.constants import PROMPTS
from ivr.errors import BadInput

if TYPE_CHECKING:
    from scheduler.programme import Programme

SAMPLE_RATE = 8000
CHANNELS = 1
SAMPLE_WIDTH = 2          # bytes: 16-bit
EXTENSION = ".wav"

MESSAGE = "message"
PROMPT = "prompt"

# Names are message keys or prompt names: they end up in paths and in AGI commands.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
LANG_RE = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$")


class CatalogueError(BadInput, ValueError):
    """A name or language that cannot be part of the catalogue."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise CatalogueError(f"bad sound name {name!r}: use lower-case letters, digits, '-' or '_'")
    return name


def check_lang(lang: str) -> str:
    if not LANG_RE.match(lang or ""):
        raise CatalogueError(f"bad language code {lang!r}: expected e.g. 'hi', 'mr', 'gu', 'en'")
    return lang


def sound_path(sounds: Path, name: str) -> str:
    """What STREAM FILE takes: "<sounds>/<name>" (no language, no extension)."""
    return f"{os.fspath(sounds)}/{check_name(name)}"


def file_path(sounds: Path, lang: str, name: str) -> Path:
    """Where the file for one language lives: <sounds>/<lang>/<name>.wav."""
    return Path(sounds) / check_lang(lang) / f"{check_name(name)}{EXTENSION}"


def own_folder(sounds: Path, programme: str | None) -> Path | None:
    """The programme's own folder, `<sounds>/<programme>`; None for no programme or a name that
    cannot be a folder or looks like a language's (such a programme has no own recordings)."""
    if not programme or not NAME_RE.match(programme) or LANG_RE.match(programme):
        return None
    return Path(sounds) / programme


def duration_seconds(path: Path) -> float:
    """Duration from the WAV header (stdlib wave). Raises OSError or wave.Error."""
    with wave.open(os.fspath(path), "rb") as w:
        rate = w.getframerate()
        if rate <= 0:
            raise wave.Error(f"{path}: sample rate {rate}")
        return w.getnframes() / rate


# ---------------------------------------------------------------------------------------------
# What should exist


@dataclass(frozen=True, order=True)
class Entry:
    """One file the catalogue should hold."""
    lang: str
    name: str
    kind: str = MESSAGE        # MESSAGE or PROMPT
    programme: str = ""        # "": the shared file; else that programme's own recording


def entry_path(sounds: Path, entry: Entry) -> Path:
    """Where the entry's file lives: <sounds>/[<programme>/]<lang>/<name>.wav."""
    return file_path(own_folder(sounds, entry.programme) or Path(sounds), entry.lang, entry.name)


def own_entries(sounds: Path, programme: str, entries: Iterable[Entry]) -> list[Entry]:
    """The entries, each one the programme has its own recording of (a file in its folder)
    replaced by that one: the file its women hear, the one to check."""
    out = []
    for entry in entries:
        own = Entry(entry.lang, entry.name, entry.kind, programme)
        out.append(own if own_folder(sounds, programme) and entry_path(sounds, own).is_file()
                   else entry)
    return out


def expected_entries(message_keys: Iterable[str], languages: Iterable[str],
                     prompts: Iterable[str] = PROMPTS) -> list[Entry]:
    """Every message and every prompt, in every language, in a stable order."""
    keys = [check_name(k) for k in message_keys]
    prompt_names = [check_name(p) for p in prompts]
    langs = [check_lang(lang) for lang in languages]
    dup = {k for k in keys if keys.count(k) > 1} | (set(keys) & set(prompt_names))
    if dup:
        raise CatalogueError(f"names used twice: {sorted(dup)}")
    out: list[Entry] = []
    for lang in langs:
        out.extend(Entry(lang, p, PROMPT) for p in prompt_names)
        out.extend(Entry(lang, k, MESSAGE) for k in keys)
    return out


def programme_entries(programme: Programme) -> tuple[list[Entry], dict[str, str]]:
    """Every file of the programme's catalogue: each message and prompt in each language, and
    each question's prompt in each language (the audio key the programme file names for it);
    with the question key of each question prompt's name."""
    entries = expected_entries([m.key for m in programme.messages], programme.languages)
    questions: dict[str, str] = {}
    for q in programme.questions:
        for lang in programme.languages:
            entry = Entry(lang, q.prompts[lang], PROMPT)
            if entry not in entries:
                entries.append(entry)
            questions[q.prompts[lang]] = q.key
    return entries, questions


# ---------------------------------------------------------------------------------------------
# Facts about one file, and the limits they are judged by


@dataclass(frozen=True)
class FileFacts:
    """What was read from one file. `error` is set when it could not be read as a WAV."""
    sample_rate: int = 0
    channels: int = 0
    sample_width: int = 0
    frames: int = 0
    compressed: bool = False             # a WAV that is not plain PCM (e.g. A-law, ADPCM)
    peak_dbfs: float | None = None       # None: content not analysed
    rms_dbfs: float | None = None
    clipped_fraction: float | None = None  # share of samples at full scale
    error: str | None = None

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate > 0 else 0.0


@dataclass(frozen=True)
class Limits:
    min_seconds: float = 60.0            # messages only (programme.md: 60-120 s)
    max_seconds: float = 120.0
    max_prompt_seconds: float = 60.0
    silence_dbfs: float = -50.0          # RMS below this: silent
    max_clipped_fraction: float = 1e-4   # more samples at full scale than this: clipped

    def __post_init__(self) -> None:
        if not (0 <= self.min_seconds <= self.max_seconds):
            raise CatalogueError(f"duration range {self.min_seconds}-{self.max_seconds} s: "
                                 "need 0 <= min <= max")


# Problem codes, stable for --json consumers.
MISSING = "missing"
UNREADABLE = "unreadable"
FORMAT = "format"
EMPTY = "empty"
TOO_SHORT = "too-short"
TOO_LONG = "too-long"
SILENT = "silent"
CLIPPED = "clipped"


@dataclass(frozen=True)
class Problem:
    lang: str
    name: str
    code: str
    detail: str
    programme: str = ""        # set: the programme's own recording

    def __str__(self) -> str:
        where = f"{self.programme}/" if self.programme else ""
        return f"{where}{self.lang}/{self.name}: {self.code}: {self.detail}"


def _db(x: float | None) -> str:
    return "-inf" if x is None or math.isinf(x) else f"{x:.1f}"


def content_problems(facts: FileFacts, limits: Limits) -> list[tuple[str, str]]:
    """Silence and clipping, from the analysed content (nothing if not analysed)."""
    out = []
    if facts.rms_dbfs is not None and facts.rms_dbfs < limits.silence_dbfs:
        out.append((SILENT, f"level {_db(facts.rms_dbfs)} dBFS RMS is below "
                            f"{limits.silence_dbfs:g} dBFS"))
    if facts.clipped_fraction is not None and facts.clipped_fraction > limits.max_clipped_fraction:
        out.append((CLIPPED, f"{facts.clipped_fraction:.3%} of samples at full scale "
                             f"(limit {limits.max_clipped_fraction:.3%})"))
    return out


def duration_problems(seconds: float, kind: str, limits: Limits) -> list[tuple[str, str]]:
    if kind == MESSAGE:
        if seconds < limits.min_seconds:
            return [(TOO_SHORT, f"{seconds:.1f} s is shorter than {limits.min_seconds:g} s")]
        if seconds > limits.max_seconds:
            return [(TOO_LONG, f"{seconds:.1f} s is longer than {limits.max_seconds:g} s")]
    elif seconds > limits.max_prompt_seconds:
        return [(TOO_LONG, f"prompt of {seconds:.1f} s is longer than "
                           f"{limits.max_prompt_seconds:g} s")]
    return []


def validate(entry: Entry, facts: FileFacts | None, limits: Limits) -> list[Problem]:
    """Everything wrong with one expected file (facts None: the file does not exist)."""
    def problems(pairs: Iterable[tuple[str, str]]) -> list[Problem]:
        return [Problem(entry.lang, entry.name, code, detail, entry.programme)
                for code, detail in pairs]

    if facts is None:
        return problems([(MISSING, "no file")])
    if facts.error:
        return problems([(UNREADABLE, facts.error)])
    wrong = []
    if facts.compressed:
        wrong.append("not plain PCM")
    if facts.sample_rate != SAMPLE_RATE:
        wrong.append(f"{facts.sample_rate} Hz (need {SAMPLE_RATE})")
    if facts.channels != CHANNELS:
        wrong.append(f"{facts.channels} channels (need {CHANNELS})")
    if facts.sample_width != SAMPLE_WIDTH:
        wrong.append(f"{facts.sample_width * 8}-bit (need {SAMPLE_WIDTH * 8})")
    pairs: list[tuple[str, str]] = []
    if wrong:
        pairs.append((FORMAT, ", ".join(wrong) + " (re-import it with: ivr audio import)"))
    if facts.frames == 0:
        pairs.append((EMPTY, "no audio in the file"))
    else:
        pairs.extend(duration_problems(facts.duration, entry.kind, limits))
        pairs.extend(content_problems(facts, limits))
    return problems(pairs)


def check(entries: Iterable[Entry], facts: Mapping[Entry, FileFacts | None],
          limits: Limits) -> list[Problem]:
    """Problems of every expected entry; an entry absent from `facts` counts as missing."""
    out: list[Problem] = []
    for entry in entries:
        out.extend(validate(entry, facts.get(entry), limits))
    return out


# ---------------------------------------------------------------------------------------------
# The catalogue the controller reads while calls run


class Catalogue:
    """Which recordings exist and how long they are, a programme's own recordings first.
    Durations are read from the WAV header once per file version (the cache is keyed by path,
    mtime and size, so a re-import is seen).

    Which own recordings a programme has is read once per process: the first call of one of
    its women in a language lists `<sounds>/<programme>/<lang>/` (one directory read), and
    the listing is kept until the process ends, so a call plays the shared file of every
    prompt the programme has no own recording of without a filesystem call. An own file that
    was listed is still checked (stat, header cached as above): re-imported, it plays its new
    version; removed or unplayable, the shared file plays. A file new to the folder (`ivr
    audio import --own`, `ivr audio demo --programme`) is played after `ivr run` restarts."""

    def __init__(self, sounds: Path):
        self.sounds = Path(sounds)
        self._durations: dict[Path, tuple[int, int, float | None]] = {}
        self._own_names: dict[tuple[Path, str], frozenset[str]] = {}

    def path(self, lang: str, name: str) -> Path:
        return file_path(self.sounds, lang, name)

    def sound(self, name: str) -> str:
        return sound_path(self.sounds, name)

    def _own_file(self, lang: str, name: str, programme: str | None) -> Path | None:
        """The programme's own recording of the file when the process's listing of its
        folder holds one (whether it is playable is the caller's question)."""
        folder = own_folder(self.sounds, programme)
        if folder is None:
            return None
        key = (folder, check_lang(lang))
        names = self._own_names.get(key)
        if names is None:
            try:
                with os.scandir(folder / lang) as found:
                    names = frozenset(e.name for e in found if e.name.endswith(EXTENSION))
            except OSError:                     # no own folder (the usual case): none
                names = frozenset()
            self._own_names[key] = names
        if f"{check_name(name)}{EXTENSION}" not in names:
            return None
        return file_path(folder, lang, name)

    def _own(self, lang: str, name: str, programme: str | None) -> Path | None:
        """The programme's own folder when it holds a playable recording of the file."""
        own = self._own_file(lang, name, programme)
        if own is None or self._seconds(own) is None:
            return None
        return own.parent.parent

    def sound_for(self, lang: str, name: str, programme: str | None = None) -> str:
        """What STREAM FILE takes for a channel in `lang`: the programme's own recording's
        "<sounds>/<programme>/<name>" when it has one in that language, else the shared
        "<sounds>/<name>"."""
        return sound_path(self._own(lang, name, programme) or self.sounds, name)

    def prompts(self, lang: str, programme: str | None,
                names: Iterable[str] = PROMPTS) -> dict[str, str]:
        """Each prompt's path for a channel in `lang` (sound_for)."""
        return {name: self.sound_for(lang, name, programme) for name in names}

    def duration(self, lang: str, name: str, programme: str | None = None) -> float | None:
        """Seconds of the file played (the programme's own, else the shared one), or None when
        neither is a readable, non-empty WAV."""
        own_file = self._own_file(lang, name, programme)
        own = self._seconds(own_file) if own_file is not None else None
        return own if own is not None else self._seconds(self.path(lang, name))

    def _seconds(self, path: Path) -> float | None:
        try:
            st = path.stat()
        except OSError:
            self._durations.pop(path, None)
            return None
        cached = self._durations.get(path)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        try:
            seconds: float | None = duration_seconds(path)
        except (OSError, wave.Error, EOFError):
            seconds = None
        if seconds is not None and seconds <= 0:
            seconds = None
        self._durations[path] = (st.st_mtime_ns, st.st_size, seconds)
        return seconds

    def has(self, lang: str, name: str, programme: str | None = None) -> bool:
        return self.duration(lang, name, programme) is not None

    def language_for(self, lang: str, name: str, fallback: str,
                     programme: str | None = None) -> str | None:
        """The language to play: hers if recorded (the programme's own or shared), else the
        fallback if recorded, else None."""
        if self.has(lang, name, programme):
            return lang
        if fallback != lang and self.has(fallback, name, programme):
            return fallback
        return None
