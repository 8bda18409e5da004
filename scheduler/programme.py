"""A programme as data: messages, languages, slots, window, retries, read from a TOML file. Pure.

The file format is documented in scheduler/programmes/README.md. Every error names the file
and the line of the offending key (tomllib's own errors carry the line already).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from datetime import timedelta
from pathlib import Path
from typing import Any

from ivr.errors import BadInput
from scheduler.content import Message, Track, build_messages
from scheduler.followup_rules import FollowUpRule, build_followup_rules
from scheduler.question_spec import Question, build_questions, questions_after
from scheduler.outcome import Outcome
from scheduler.policy import AtRiskRule, CallbackPolicy, RetryPolicy, RetrySlots
from scheduler.slots import TimeSlot, intersect, parse_range, zone

PROGRAMMES_DIR = Path(__file__).resolve().parent / "programmes"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_LANG = re.compile(r"[a-z]{2,3}")
_REGION = re.compile(r"[A-Z]{2}")
_DURATION = re.compile(r"(\d+)\s*(s|m|h|d)")
MAX_WEEKS_UNANSWERED = 104   # two years: longer than any programme
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class ProgrammeError(BadInput):
    """A programme file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Programme:
    name: str
    description: str
    messages: tuple[Message, ...]
    languages: tuple[str, ...]
    fallback_language: str
    slots: tuple[TimeSlot, ...]
    default_slot: str
    window: TimeSlot
    timezone: str
    retry: RetryPolicy
    callback: CallbackPolicy
    at_risk: AtRiskRule
    assume_birth_after_days: int | None    # no birth registered by EDD + this: infant from EDD
    message_seconds: int                   # nominal length of a message (reports, simulation)
    source: str                            # the file it was read from
    region: str = "IN"                     # phone numbers written without +country are read as this
    allow_foreign_numbers: bool = False    # numbers of other countries than region may enrol
    questions: tuple[Question, ...] = ()   # [[question]]: asked after messages (issue 15)
    followups: tuple[FollowUpRule, ...] = ()   # [[followup]]: rules reading the answers

    def slot(self, name: str) -> TimeSlot:
        try:
            return self._slots[name]
        except KeyError:
            pass
        raise KeyError(f"programme {self.name!r} has no slot {name!r} "
                       f"(its slots: {', '.join(s.name for s in self.slots)})")

    def track(self, track: Track) -> tuple[Message, ...]:
        """The messages of one track, in order."""
        return self._tracks[track]

    def track_days(self, track: Track) -> tuple[int, ...]:
        """Due days (after the track's anchor) of the track's messages, ascending."""
        return self._days[track]

    def message(self, key: str) -> Message:
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"programme {self.name!r} has no message {key!r}") from None

    def questions_after(self, key: str) -> tuple[Question, ...]:
        """The questions asked after message `key`, in the file's order."""
        message = self.message(key)
        return questions_after(self.questions, self._tracks[message.track], message)

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(f"programme {self.name!r} has no question {key!r}")

    @cached_property
    def _slots(self) -> dict[str, TimeSlot]:
        return {s.name: s for s in self.slots}

    @cached_property
    def _by_key(self) -> dict[str, Message]:
        return {m.key: m for m in self.messages}

    @cached_property
    def _tracks(self) -> dict[Track, tuple[Message, ...]]:
        return {t: tuple(m for m in self.messages if m.track is t) for t in Track}

    @cached_property
    def _days(self) -> dict[Track, tuple[int, ...]]:
        return {t: tuple(m.day for m in self._tracks[t]) for t in Track}


def programme_path(name_or_path: str | Path) -> Path:
    """The file of a shipped programme's name ("mmitra", "kilkari"), or the path as given;
    ProgrammeError for a name that is neither."""
    path = Path(name_or_path)
    if isinstance(name_or_path, str) and _NAME.fullmatch(name_or_path) and not path.exists():
        path = PROGRAMMES_DIR / f"{name_or_path}.toml"
        if not path.exists():
            shipped = sorted(p.stem for p in PROGRAMMES_DIR.glob("*.toml"))
            raise ProgrammeError(f"no programme named {name_or_path!r} "
                                 f"(shipped: {', '.join(shipped)}; or give a file path)")
    return path


def load_programme(name_or_path: str | Path) -> Programme:
    """A shipped programme by name ("mmitra", "kilkari") or a TOML file by path."""
    path = programme_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ProgrammeError(f"{path}: cannot read the programme file: {e.strerror or e}") from None
    return parse_programme(text, str(path))


def parse_programme(text: str, source: str = "<programme>") -> Programme:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProgrammeError(f"{source}: {e}") from None
    return _Parser(text, source, data).programme()


class _Parser:
    def __init__(self, text: str, source: str, data: dict[str, Any]):
        self.lines = text.splitlines()
        self.source = source
        self.data = data

    # ---- errors that name the line -------------------------------------------------------
    def line_of(self, section: str | None, key: str | None, index: int | None = None) -> int:
        """1-based line of `key` inside `[section]` (or its index-th `[[section]]`), best effort."""
        def is_header(i: int) -> bool:
            return self.lines[i].lstrip().startswith("[")
        start, end = 0, next((i for i in range(len(self.lines)) if is_header(i)), len(self.lines))
        if section:
            header = re.compile(r"\s*\[\[?\s*" + re.escape(section) + r"\s*\]\]?\s*(#.*)?$")
            hits = [i for i, line in enumerate(self.lines) if header.match(line)]
            if hits:
                start = hits[min(index or 0, len(hits) - 1)]
                end = next((i for i in range(start + 1, len(self.lines)) if is_header(i)),
                           len(self.lines))
                if key is None:
                    return start + 1
        if key is not None:
            pat = re.compile(r"\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
            found = [i for i in range(start, end) if pat.match(self.lines[i])] or \
                [i for i in range(len(self.lines)) if pat.match(self.lines[i])]
            if found:
                return found[0] + 1
        return start + 1

    def error(self, message: str, section: str | None = None, key: str | None = None,
              index: int | None = None) -> ProgrammeError:
        return ProgrammeError(f"{self.source}, line {self.line_of(section, key, index)}: {message}")

    def get(self, table: dict[str, Any], key: str, kind: type, default: Any,
            section: str | None = None, index: int | None = None) -> Any:
        if key not in table:
            if default is _REQUIRED:
                raise self.error(f"missing required key {key!r}"
                                 + (f" in [{section}]" if section else ""), section, None, index)
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            name = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
                    list: "a list", dict: "a table"}.get(kind, str(kind))
            raise self.error(f"{key} must be {name}, got {value!r}", section, key, index)
        return value

    def duration(self, table: dict[str, Any], key: str, default: timedelta,
                 section: str) -> timedelta:
        raw = self.get(table, key, str, None, section)
        if raw is None:
            return default
        m = _DURATION.fullmatch(raw.strip())
        if not m or int(m.group(1)) <= 0:
            raise self.error(f"{key}: expected a duration like \"20m\", \"2h\", \"1d\", "
                             f"got {raw!r}",
                             section, key)
        return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})

    # ---- the programme ----------------------------------------------------------------------
    def programme(self) -> Programme:
        d = self.data
        known = {"name", "description", "languages", "fallback_language", "timezone", "window",
                 "default_slot", "assume_birth_after_days", "message_seconds", "region",
                 "allow_foreign_numbers", "slots", "retry",
                 "callback", "at_risk", "schedule", "message", "question", "followup"}
        for key in d:
            if key not in known:
                raise self.error(f"unknown key {key!r} (known: {', '.join(sorted(known))})",
                                 None, key)
        name = self.get(d, "name", str, _REQUIRED)
        if not _NAME.fullmatch(name):
            raise self.error(f"name {name!r}: use lower-case letters, digits and '-'", None, "name")
        languages = tuple(self.get(d, "languages", list, _REQUIRED))
        if not languages or not all(isinstance(x, str) and _LANG.fullmatch(x) for x in languages):
            raise self.error("languages must be a non-empty list of codes like \"hi\", \"bho\"",
                             None, "languages")
        if len(set(languages)) != len(languages):
            raise self.error("languages lists a code twice", None, "languages")
        fallback = self.get(d, "fallback_language", str, languages[0])
        if fallback not in languages:
            raise self.error(f"fallback_language {fallback!r} is not one of languages "
                             f"{list(languages)}", None, "fallback_language")
        tz = self.get(d, "timezone", str, "Asia/Kolkata")
        try:
            zone(tz)
        except ValueError as e:
            raise self.error(str(e), None, "timezone") from None
        window = self.range("window", self.get(d, "window", str, "09:00-21:00"), None, "window")
        slots = self.slots(window)
        default_slot = self.get(d, "default_slot", str, slots[0].name)
        if default_slot not in {s.name for s in slots}:
            raise self.error(f"default_slot {default_slot!r} is not one of the slots", None,
                             "default_slot")
        assume = self.get(d, "assume_birth_after_days", int, None)
        if assume is not None and not 0 <= assume <= 120:
            raise self.error("assume_birth_after_days must be between 0 and 120", None,
                             "assume_birth_after_days")
        seconds = self.get(d, "message_seconds", int, 90)
        if not 5 <= seconds <= 1800:
            raise self.error("message_seconds must be between 5 and 1800", None, "message_seconds")
        region = self.get(d, "region", str, "IN")
        if not _REGION.fullmatch(region):
            raise self.error(f"region {region!r}: use a two-letter country code like \"IN\"",
                             None, "region")
        messages = build_messages(name, self.get(d, "schedule", list, []),
                                  self.get(d, "message", list, []), self.error)
        questions = build_questions(self.get(d, "question", list, []), languages, messages,
                                    self.error)
        followups = build_followup_rules(self.get(d, "followup", list, []), questions,
                                         self.error)
        return Programme(
            name=name, description=self.get(d, "description", str, ""), messages=messages,
            languages=languages, fallback_language=fallback, slots=slots,
            default_slot=default_slot, window=window, timezone=tz, retry=self.retry(),
            callback=self.callback(), at_risk=self.at_risk(), assume_birth_after_days=assume,
            message_seconds=seconds, source=self.source, region=region,
            allow_foreign_numbers=self.get(d, "allow_foreign_numbers", bool, False),
            questions=questions, followups=followups)

    def range(self, name: str, text: str, section: str | None, key: str) -> TimeSlot:
        try:
            return parse_range(name, text)
        except ValueError as e:
            raise self.error(str(e), section, key) from None

    def slots(self, window: TimeSlot) -> tuple[TimeSlot, ...]:
        table = self.get(self.data, "slots", dict, {"09-12": "09:00-12:00", "12-15": "12:00-15:00",
                                                    "15-18": "15:00-18:00", "18-21": "18:00-21:00"})
        if not table:
            raise self.error("[slots] must name at least one slot", "slots", None)
        out = []
        for name, text in table.items():
            if not isinstance(text, str):
                raise self.error(f"slot {name!r} must be a string like \"09:00-12:00\"",
                                 "slots", name)
            slot = self.range(name, text, "slots", name)
            if intersect(slot, window) != slot:
                raise self.error(f"slot {name!r} ({slot.text}) is not inside the calling window "
                                 f"({window.text})", "slots", name)
            out.append(slot)
        return tuple(out)

    def retry(self) -> RetryPolicy:
        t = self.get(self.data, "retry", dict, {})
        base = RetryPolicy()
        max_attempts = self.get(t, "max_attempts", int, base.max_attempts, "retry")
        if not 1 <= max_attempts <= 50:
            raise self.error("max_attempts must be between 1 and 50", "retry", "max_attempts")
        per_day = self.get(t, "per_day", int, base.per_day, "retry")
        if not 1 <= per_day <= 24:
            raise self.error("per_day must be between 1 and 24", "retry", "per_day")
        share = self.get(t, "delivered_share", float, base.delivered_share, "retry")
        if not 0.0 <= share <= 1.0:
            raise self.error("delivered_share must be between 0 and 1", "retry", "delivered_share")
        weeks = self.get(t, "deactivate_after_weeks_unanswered", int,
                         base.deactivate_after_weeks_unanswered, "retry")
        if not 0 <= weeks <= MAX_WEEKS_UNANSWERED:
            raise self.error(f"deactivate_after_weeks_unanswered must be between 0 (off) and "
                             f"{MAX_WEEKS_UNANSWERED} weeks, got {weeks}", "retry",
                             "deactivate_after_weeks_unanswered")
        slots_text = self.get(t, "retry_slots", str, base.retry_slots.value, "retry")
        if slots_text not in (RetrySlots.OWN.value, RetrySlots.LEARNED.value):
            raise self.error(f"retry_slots must be \"own\" or \"learned\", got {slots_text!r}",
                             "retry", "retry_slots")
        gaps = dict(base.gaps)
        gap_table = self.get(t, "gap", dict, {}, "retry")
        for key in gap_table:
            try:
                outcome = Outcome(key)
            except ValueError:
                raise self.error(f"gap for unknown outcome {key!r} (known: "
                                 f"{', '.join(o.value for o in Outcome if not o.answered)})",
                                 "retry.gap", key) from None
            gaps[outcome] = self.duration(gap_table, key, gaps.get(outcome, timedelta(0)),
                                          "retry.gap")   # the key is there: no default used
        by_weekday = self.get(t, "retry_slots_by_weekday", bool, base.retry_slots_by_weekday,
                              "retry")
        if by_weekday and slots_text != RetrySlots.LEARNED.value:
            raise self.error("retry_slots_by_weekday = true needs retry_slots = \"learned\" "
                             f"(got {slots_text!r}): it splits what the learned rule counts",
                             "retry", "retry_slots_by_weekday")
        return RetryPolicy(max_attempts=max_attempts, per_day=per_day, gaps=tuple(gaps.items()),
                           supersede=self.get(t, "supersede", bool, base.supersede, "retry"),
                           delivered_share=share,
                           lease=self.duration(t, "lease", base.lease, "retry"),
                           deactivate_after_weeks_unanswered=weeks,
                           retry_slots=RetrySlots(slots_text),
                           retry_slots_by_weekday=by_weekday)

    def callback(self) -> CallbackPolicy:
        t = self.get(self.data, "callback", dict, {})
        base = CallbackPolicy()
        attempts = self.get(t, "max_attempts", int, base.max_attempts, "callback")
        if not 1 <= attempts <= 10:
            raise self.error("max_attempts must be between 1 and 10", "callback", "max_attempts")
        full = self.get(t, "heard_in_full", float, base.heard_in_full, "callback")
        if not 0.0 < full <= 1.0:
            raise self.error("heard_in_full must be above 0 and at most 1", "callback",
                             "heard_in_full")
        return CallbackPolicy(merge=self.duration(t, "merge", base.merge, "callback"),
                              max_attempts=attempts,
                              gap=self.duration(t, "gap", base.gap, "callback"),
                              heard_in_full=full,
                              expire=self.duration(t, "expire", base.expire, "callback"))

    def at_risk(self) -> AtRiskRule:
        t = self.get(self.data, "at_risk", dict, {})
        base = AtRiskRule()
        weeks = self.get(t, "unanswered_weeks", int, base.unanswered_weeks, "at_risk")
        calls = self.get(t, "low_listening_calls", int, base.low_listening_calls, "at_risk")
        share = self.get(t, "low_listening_share", float, base.low_listening_share, "at_risk")
        if weeks < 1 or calls < 1:
            raise self.error("unanswered_weeks and low_listening_calls must be at least 1",
                             "at_risk", "unanswered_weeks" if weeks < 1 else "low_listening_calls")
        if not 0.0 < share <= 1.0:
            raise self.error("low_listening_share must be above 0 and at most 1", "at_risk",
                             "low_listening_share")
        return AtRiskRule(weeks, calls, share)


_REQUIRED = object()
