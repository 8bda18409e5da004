"""The messages of a programme, built from compact schedule rules or listed one by one. Pure.

A rule says "on track T, in completed weeks A..B after the anchor, N messages a week"
(spread evenly over the week: days 0 and 3 for two, every day for seven) or names the
days of the week explicitly. The anchor is the LMP for the pregnancy track and the child's
date of birth for the infant track.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable


class Track(str, Enum):
    PREGNANCY = "pregnancy"     # counted from the LMP (or EDD - 280 days)
    INFANT = "infant"           # counted from the child's date of birth

    @property
    def code(self) -> str:
        return "p" if self is Track.PREGNANCY else "i"


@dataclass(frozen=True)
class Message:
    key: str            # "<programme>-<p|i><nnn>", e.g. "mmitra-p001": unique, [a-z0-9-]+
    track: Track
    seq: int            # 1.. across the programme, in the order she hears them
    number: int         # 1.. within its track
    day: int            # days after the track's anchor (LMP or date of birth) it falls due
    week: int           # completed weeks after the anchor: day // 7


MAX_WEEK = {Track.PREGNANCY: 104, Track.INFANT: 260}
ErrorFn = Callable[..., Exception]      # (message, section, key, index) -> exception to raise


def spread(per_week: int) -> list[int]:
    """Days of the week for N messages a week, evenly spread from day 0."""
    return sorted({(7 * i) // per_week for i in range(per_week)})


def build_messages(name: str, rules: list[Any], explicit: list[Any],
                   error: ErrorFn) -> tuple[Message, ...]:
    days: dict[Track, dict[int, str | None]] = {Track.PREGNANCY: {}, Track.INFANT: {}}
    for i, rule in enumerate(rules):
        _apply_rule(rule, i, days, error)
    for i, item in enumerate(explicit):
        _apply_explicit(item, i, days, error)
    if not any(days.values()):
        raise error("the programme has no messages: add [[schedule]] rules or [[message]] entries",
                    None, None)
    messages, keys, seq = [], set(), 0
    for track in (Track.PREGNANCY, Track.INFANT):
        for number, day in enumerate(sorted(days[track]), start=1):
            seq += 1
            key = days[track][day] or f"{name}-{track.code}{number:03d}"
            if key in keys:
                raise error(f"message key {key!r} is used twice", "message", "key")
            keys.add(key)
            messages.append(Message(key, track, seq, number, day, day // 7))
    return tuple(messages)


def _track(value: Any, section: str, i: int, error: ErrorFn) -> Track:
    try:
        return Track(value)
    except ValueError:
        raise error(f"track must be \"pregnancy\" or \"infant\", got {value!r}", section, "track",
                    i) from None


def _apply_rule(rule: Any, i: int, days: dict[Track, dict[int, str | None]],
                error: ErrorFn) -> None:
    if not isinstance(rule, dict):
        raise error("each [[schedule]] entry must be a table", "schedule", None, i)
    unknown = set(rule) - {"track", "weeks", "per_week", "days", "note"}
    if unknown:
        raise error(f"unknown key {sorted(unknown)[0]!r} in [[schedule]] (known: track, weeks, "
                    "per_week, days, note)", "schedule", sorted(unknown)[0], i)
    track = _track(rule.get("track"), "schedule", i, error)
    weeks = rule.get("weeks")
    if not (isinstance(weeks, list) and len(weeks) == 2 and all(type(w) is int for w in weeks)
            and 0 <= weeks[0] <= weeks[1] <= MAX_WEEK[track]):
        raise error(f"weeks must be [first, last], completed weeks 0..{MAX_WEEK[track]} with "
                    f"first <= last, got {weeks!r}", "schedule", "weeks", i)
    if ("per_week" in rule) == ("days" in rule):
        raise error("give either per_week (1-7) or days (a list of 0-6), not both nor neither",
                    "schedule", "per_week" if "per_week" in rule else None, i)
    if "per_week" in rule:
        n = rule["per_week"]
        if type(n) is not int or not 1 <= n <= 7:
            raise error(f"per_week must be an integer from 1 to 7, got {n!r}", "schedule",
                        "per_week", i)
        week_days = spread(n)
    else:
        week_days = rule["days"]
        if not (isinstance(week_days, list) and week_days and
                all(type(x) is int and 0 <= x <= 6 for x in week_days) and
                len(set(week_days)) == len(week_days)):
            raise error(f"days must be a list of distinct days of the week 0-6, got {week_days!r}",
                        "schedule", "days", i)
    for week in range(weeks[0], weeks[1] + 1):
        for wd in week_days:
            day = 7 * week + wd
            if day in days[track]:
                raise error(f"{track.value} day {day} (week {week}) already has a message from an "
                            "earlier rule: rules must not overlap", "schedule", "weeks", i)
            days[track][day] = None


def _apply_explicit(item: Any, i: int, days: dict[Track, dict[int, str | None]],
                    error: ErrorFn) -> None:
    if not isinstance(item, dict):
        raise error("each [[message]] entry must be a table", "message", None, i)
    unknown = set(item) - {"track", "day", "key", "note"}
    if unknown:
        raise error(f"unknown key {sorted(unknown)[0]!r} in [[message]] (known: track, day, key, "
                    "note)", "message", sorted(unknown)[0], i)
    track = _track(item.get("track"), "message", i, error)
    day = item.get("day")
    if type(day) is not int or not 0 <= day <= 7 * MAX_WEEK[track] + 6:
        raise error(f"day must be an integer from 0 to {7 * MAX_WEEK[track] + 6}, got {day!r}",
                    "message", "day", i)
    if day in days[track]:
        raise error(f"{track.value} day {day} already has a message", "message", "day", i)
    key = item.get("key")
    if key is not None and not (isinstance(key, str) and _is_key(key)):
        raise error(f"key must be lower-case letters, digits and '-', got {key!r}", "message",
                    "key", i)
    days[track][day] = key


def _is_key(text: str) -> bool:
    return bool(text) and all(c.isdigit() or ("a" <= c <= "z") or c == "-" for c in text) \
        and text[0] != "-"
