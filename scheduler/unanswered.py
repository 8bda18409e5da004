"""Weeks unanswered: stop calling a number that never answers. A programme rule, off by
default (`[retry] deactivate_after_weeks_unanswered = 0`), in the spirit of Kilkari's
deactivation of women who do not answer for weeks. Pure.

Weeks are counted from her last answered call, or from her enrolment when she never
answered: week k is [anchor + 7k days, anchor + 7(k+1) days). A **week unanswered** is one in
which she had at least one attempt (scheduled or callback; test calls do not count) and none
answered. With the setting N > 0, she is deactivated (status reason "unanswered_weeks") at
the end of an unanswered attempt when the N whole weeks before that attempt's week were all
weeks unanswered, one after the other (a week with no attempt, a pause say, breaks the run).
The rule is applied at the release of a call (scheduler/rules.py), never in the claim.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Iterator, NamedTuple

from scheduler.model import Attempt, AttemptKind

REASON = "unanswered_weeks"
WEEK = timedelta(days=7)


class Unanswered(NamedTuple):
    """Her calls since her last answered one, folded: what the rule needs."""
    anchor: datetime | None  # her last answered call, else her enrolment (None: her first call)
    last_week: int = -1      # the latest week with an unanswered attempt (-1: none yet)
    run: int = 0             # consecutive weeks unanswered, ending at last_week


def week(anchor: datetime, at: datetime) -> int:
    return max(0, (at - anchor) // WEEK)


def after_call(u: Unanswered, answered: bool, at: datetime) -> Unanswered:
    """`u` after one more finished call ending at `at`."""
    if answered:
        return Unanswered(at)
    anchor = u.anchor if u.anchor is not None else at
    w = week(anchor, at)
    if w == u.last_week:
        return u
    return Unanswered(anchor, w, u.run + 1 if w == u.last_week + 1 else 1)


def from_calls(anchor: datetime | None,
               calls: Iterable[tuple[datetime, bool]]) -> Unanswered:
    """Folded from her finished calls (when each ended, whether it was answered), in order."""
    u = Unanswered(anchor)
    for at, answered in calls:
        u = after_call(u, answered, at)
    return u


def calls(attempts: Iterable[Attempt]) -> Iterator[tuple[datetime, bool]]:
    """Her finished calls (test calls left out) as from_calls() takes them, in order."""
    done = sorted((a for a in attempts if a.outcome is not None and a.kind is not AttemptKind.TEST),
                  key=lambda a: (a.ended_at or a.claimed_at, a.id))
    return ((a.ended_at or a.claimed_at, a.outcome is not None and a.outcome.answered)
            for a in done)


def weeks_unanswered(u: Unanswered, at: datetime) -> int:
    """Whole weeks unanswered in a row just before the week of `at` (her calls so far)."""
    if u.anchor is None or u.last_week < 0:
        return 0
    w = week(u.anchor, at)
    if u.last_week == w:
        return u.run - 1
    return u.run if u.last_week == w - 1 else 0


def deactivates(after_weeks: int, before: Unanswered, answered: bool, at: datetime) -> bool:
    """Whether an attempt ending at `at` ends her subscription: the setting is on
    (`after_weeks` > 0), the call was not answered, and the `after_weeks` whole weeks before
    its week were weeks unanswered. `before`: her calls before this one."""
    if after_weeks <= 0 or answered:
        return False
    return weeks_unanswered(after_call(before, False, at), at) >= after_weeks
