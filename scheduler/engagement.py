"""Engagement per woman, and the at-risk flag (likely to drop out). Pure.

Folded from her calls in order (scheduled and callbacks; test calls do not count):
consecutive weeks since her first unanswered call after her last answered one, the run
of answered calls heard under the rule's share, and totals for the share heard.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from scheduler.model import Attempt, AttemptKind
from scheduler.outcome import Outcome
from scheduler.policy import AtRiskRule

WEEK = timedelta(days=7)
WEEK_SECONDS = 7 * 86400.0


@dataclass(frozen=True)
class Engagement:
    calls: int = 0
    answered: int = 0
    heard_total: float = 0.0                 # sum of shares heard over answered calls
    unanswered_since: datetime | None = None  # first unanswered call since the last answered one
    low_listening_run: int = 0               # consecutive answered calls heard under the share
    last_answered_at: datetime | None = None

    @property
    def mean_heard(self) -> float:
        return self.heard_total / self.answered if self.answered else 0.0


def after_call(eng: Engagement, rule: AtRiskRule, outcome: Outcome, heard_share: float | None,
               at: datetime) -> Engagement:
    if outcome.answered:
        heard = heard_share or 0.0
        low = eng.low_listening_run + 1 if heard < rule.low_listening_share else 0
        return Engagement(eng.calls + 1, eng.answered + 1, eng.heard_total + heard, None, low, at)
    since = eng.unanswered_since if eng.unanswered_since is not None else at
    return Engagement(eng.calls + 1, eng.answered, eng.heard_total, since, eng.low_listening_run,
                      eng.last_answered_at)


def weeks_unanswered(eng: Engagement, now: datetime) -> int:
    """Whole weeks since her first unanswered call after her last answered one."""
    if eng.unanswered_since is None:
        return 0
    return max(0, (now - eng.unanswered_since) // WEEK)


def at_risk(eng: Engagement, rule: AtRiskRule, now: datetime) -> bool:
    return flags(weeks_unanswered(eng, now), eng.low_listening_run, rule)


def flags(weeks: int, low_run: int, rule: AtRiskRule) -> bool:
    """The at-risk rule on her whole weeks unanswered and her low-listening run."""
    return weeks >= rule.unanswered_weeks or low_run >= rule.low_listening_calls


def weeks_since(since: float | None, now: datetime, now_s: float | None = None) -> int:
    """weeks_unanswered of her unanswered_since given as epoch seconds (None: none), without
    a datetime per woman: the same whole weeks, by the datetime's arithmetic within a
    millisecond of a week's end (where a float could round the other way). `now_s`:
    now.timestamp(), when the caller has it."""
    if since is None:
        return 0
    weeks, rest = divmod((now.timestamp() if now_s is None else now_s) - since, WEEK_SECONDS)
    if rest < 1e-3 or WEEK_SECONDS - rest < 1e-3:
        return weeks_unanswered(Engagement(unanswered_since=datetime.fromtimestamp(
            since, timezone.utc)), now)
    return max(0, int(weeks))


def flagged_weeks(women: Iterable[tuple[float | None, int]], rule: AtRiskRule,
                  now: datetime) -> list[int | None]:
    """at_risk on summaries' numbers (each woman's unanswered_since as epoch seconds and low
    listening run): each one's whole weeks unanswered when the rule flags her, None when
    not."""
    now_s = now.timestamp()
    out: list[int | None] = []
    for since, low_run in women:
        weeks = weeks_since(since, now, now_s)
        out.append(weeks if flags(weeks, low_run, rule) else None)
    return out


def from_attempts(attempts: Iterable[Attempt], rule: AtRiskRule) -> Engagement:
    """Her engagement from her finished attempts (any order)."""
    eng = Engagement()
    done = sorted((a for a in attempts if a.outcome is not None and a.kind is not AttemptKind.TEST),
                  key=lambda a: (a.claimed_at, a.id))
    for a in done:
        assert a.outcome is not None
        eng = after_call(eng, rule, a.outcome, a.heard_share, a.ended_at or a.claimed_at)
    return eng


@dataclass(frozen=True)
class Summary:
    """What the at-risk rule reads of a run of her ended calls (tests never), in her order,
    with the times as numbers (epoch seconds): low_run, her answered calls after her last
    well-heard one (each heard under the share); since, when the first call after her last
    answered one ended (None: none). `reset`: a well-heard answered call was in the run (the
    counters were reset by it; low_run and since count from after it)."""
    low_run: int = 0
    since: float | None = None
    reset: bool = False


def joined(before: Summary, after: Summary) -> Summary:
    """The summary of two runs of her calls, `before` then `after` (after_call folded over
    both, as the two summaries tell it)."""
    if after.reset:
        return after
    if after.low_run:       # an answered call in `after`: since counts from its last one
        return Summary(before.low_run + after.low_run, after.since, before.reset)
    since = before.since if before.since is not None else after.since
    return Summary(before.low_run, since, before.reset)
