"""Weekly engagement histories for the outreach list, from the store's rows. Pure.

A week is a local week of the programme's zone, from Monday 00:00 (`week_start`); weeks are
numbered from the current one: 0 this week, -1 last week, and so on (a number is
floor((instant - this week's start) / 7 days): in a zone with daylight saving, an hour of a
week's edge may count in its neighbour). The store gives, per woman and week with anything
to say (`WeekRow`): engaging (an answered call of hers that week heard at least
ENGAGING_SECONDS of its message, scheduler/outreach.py's rule) and called (the call centre
reached her that week: an outreach call recorded with the outcome `reached`; a call that did
not reach her is no live call). `histories` turns these sparse rows into each woman's weeks,
oldest first, a week without a row being a week she was not engaging and not called.

Her weeks run from her first week in the window (the later of the window's first week and
her enrolment week) to her last complete week: last week (-1) while she is active; for a
woman who has ended or is paused, the week of her last row (at most -1), so the weeks after
she left are not counted as weeks she did not listen. The current week is never in a
history: it is not over, and it is the week the list is for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Mapping

from scheduler.followups import iso_week
from scheduler.model import SchedulerError
from scheduler.outreach import Week
from scheduler.slots import local_date, local_instant, zone

WEEK_SECONDS = 7 * 86400
LAST_WEEK = -1

# what came of a live call from the call centre (`ivr outreach done --outcome`)
REACHED = "reached"
OUTCOMES = (REACHED, "not_reached", "refused", "wrong_number")


def check_outcome(outcome: str) -> str:
    if outcome not in OUTCOMES:
        raise SchedulerError(f"unknown outreach outcome {outcome!r} (one of: "
                             f"{', '.join(OUTCOMES)})")
    return outcome


def week_start(now: datetime, timezone: str) -> datetime:
    """The instant this week began in `timezone`: its Monday at 00:00 local time."""
    today = local_date(now, zone(timezone))
    return local_instant(today - timedelta(days=today.weekday()), time(0), zone(timezone))


def week_number(at: float, start: float) -> int:
    """The number of the week of epoch `at`, counted from the week starting at epoch `start`."""
    return math.floor((at - start) / WEEK_SECONDS)


def week_label(start: datetime, timezone: str, number: int = 0) -> str:
    """The ISO week ('2026-W49') of week `number` counted from the week starting at `start`."""
    monday: date = local_date(start, zone(timezone)) + timedelta(weeks=number)
    return iso_week(monday)


@dataclass(frozen=True)
class WeekRow:
    """One woman's week with something in it."""
    subscriber_id: int
    week: int
    engaging: bool
    called: bool


@dataclass(frozen=True)
class Woman:
    """What decides where her weeks start and end."""
    subscriber_id: int
    enrolled_week: int
    active: bool


def histories(women: Iterable[Woman], rows: Iterable[WeekRow],
              first_week: int) -> dict[int, list[Week]]:
    """Each woman's weeks from max(first_week, her enrolment week) to her last complete week,
    oldest first (see the module's docstring). A woman with no complete week in the window
    has an empty history; `first_week` must be before this week."""
    if first_week > LAST_WEEK:
        raise SchedulerError(f"the window must start before this week, not at week {first_week}")
    seen: dict[int, dict[int, WeekRow]] = {}
    for r in rows:
        seen.setdefault(r.subscriber_id, {})[r.week] = r
    out: dict[int, list[Week]] = {}
    for w in women:
        mine = seen.get(w.subscriber_id, {})
        first = max(first_week, w.enrolled_week)
        if w.active:
            last = LAST_WEEK
        else:
            last = min(LAST_WEEK, max((n for n in mine if n >= first), default=first - 1))
        weeks = [_QUIET] * max(0, last + 1 - first)     # then her rows in their weeks
        for n, r in mine.items():
            if first <= n <= last:
                weeks[n - first] = _WEEKS[bool(r.engaging), bool(r.called)]
        out[w.subscriber_id] = weeks
    return out


# The four weeks there are (a Week is frozen: shared, not made once per woman and week).
_WEEKS = {(e, c): Week(e, c) for e in (False, True) for c in (False, True)}
_QUIET = _WEEKS[False, False]


def transitions(weeks: Mapping[int, list[Week]]) -> int:
    """How many week-to-week transitions the histories hold (what the chains learn from)."""
    return sum(max(0, len(h) - 1) for h in weeks.values())
