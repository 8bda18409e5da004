"""Builders and a small service loop shared by the contract tests (imported as a sibling).

drive() is the calling service in miniature: at each wake it plans, reaps and claims, and
every claimed call ends a minute later with the outcome the test chooses. It returns the
claims it made, so the same scenario can be compared between the two stores.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from scheduler.model import Attempt, Subscriber
from scheduler.outcome import Outcome

CALL = timedelta(minutes=1)


def utc(y, mo, d, h=0, mi=0, s=0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)


def local(tz: str, y, mo, d, h=0, mi=0) -> datetime:
    """The UTC instant of a local wall-clock time (its first occurrence when ambiguous)."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def woman(n: int, *, lmp: date | None = None, child_dob: date | None = None,
          slot: str = "09-12", tz: str = "Asia/Kolkata") -> Subscriber:
    """A woman with a fake phone number (the 9199 range is not allocated)."""
    return Subscriber(id=0, phone=f"9199{n:08d}", language="hi", slot=slot, timezone=tz,
                      lmp=lmp, child_dob=child_dob)


@dataclass(frozen=True)
class Claimed:
    """What a claim said, without the lease owner (both stores name it the same anyway)."""
    at: datetime
    attempt_id: int
    subscriber_id: int
    kind: str
    message_key: str
    number: int


Decide = Callable[[Attempt], tuple[Outcome, float | None]]


def no_answer(_: Attempt) -> tuple[Outcome, float | None]:
    return Outcome.NO_ANSWER, None


async def drive(face, start: datetime, until: datetime, decide: Decide = no_answer, *,
                owner: str = "worker", limit: int = 100, max_steps: int = 2000) -> list[Claimed]:
    """Run the service from `start` to `until`; every call ends CALL after its claim."""
    now, out = start, []
    for _ in range(max_steps):
        await face.run_plans(now)
        await face.reap(now)
        claimed = await face.claim(now, owner, limit)
        for a in claimed:
            out.append(Claimed(now, a.id, a.subscriber_id, a.kind.value, a.message_key,
                               a.number))
        for a in claimed:
            outcome, heard = decide(a)
            await face.release(a.id, outcome, heard, now + CALL)
        if claimed:
            now += CALL
        wake = await face.next_wake()
        if wake is None or wake > until:
            return out
        now = max(wake, now + timedelta(seconds=1))
    raise AssertionError(f"drive() did not reach {until} in {max_steps} steps (stuck at {now})")


async def same_calls(m, others, scenario) -> None:
    """Every other store's run of `scenario` makes memory's calls `m`, claim by claim."""
    assert len(others) == 2
    for other in others:
        s = await scenario(other)
        for i, (a, b) in enumerate(zip(m[0], s[0], strict=True)):
            assert a == b, f"claim {i} differs"
        assert m[1:] == s[1:]
