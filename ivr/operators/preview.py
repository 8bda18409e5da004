"""`ivr schedule preview`: what the service would call on a day, per slot, and why.

The same code as `ivr run` (ScheduleStore.run_plans and claim), stepped through the day
from one due time to the next, inside ONE transaction that is then rolled back: nothing is
written and nothing is dialled. It runs on a private snapshot of the database (SQLite's
online backup, a read that does not block writers), so the running service never waits for
a preview's write lock; the snapshot is deleted afterwards.

Each woman appears at her first call of the day (what happens after depends on whether she
answers); retries owed from earlier days show as retries, missed calls waiting as callbacks.
A call is listed under the programme slot it is placed in. Under retry_slots = "learned" a
retry's slot was chosen by the rule (scheduler/retry_slots.py, the upper-confidence rule:
deterministic) when her last call ended, and its time carries it, as `ivr run` will place
it: the why names that slot and her chance to answer there and in her own slot (the
posterior mean, +- one sd, and her calls there), from the pattern the rule reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ivr.adapters import records
from ivr.adapters.backup import snapshot
from ivr.adapters.columns import epoch, instant
from ivr.adapters.schedule_store import ScheduleStore
from ivr.operators.records import phone_out
from scheduler.answer_model import SlotEstimate
from scheduler.model import Subscriber
from scheduler.policy import RetrySlots
from scheduler.retry_slots import slot_at
from scheduler.slots import day_start, zone
from scheduler.timeline import her_zone

__all__ = ["PlannedCall", "preview", "snapshot"]   # snapshot: `ivr schedule preview` runs on one

OWNER = "preview"
BIG = 1_000_000


@dataclass(frozen=True)
class PlannedCall:
    at: datetime
    slot: str
    woman: int
    phone: str
    language: str
    message: str
    attempt: int
    kind: str
    why: str
    programme: str


class _Rollback(Exception):
    pass


async def _next_time(sched: ScheduleStore, t: datetime) -> datetime | None:
    return instant(await records.next_due_after(sched.store, epoch(t)))


async def _why(sched: ScheduleStore, attempt) -> str:
    if attempt.kind.value == "callback":
        at = await records.callback_requested_at(sched.store, attempt.callback_id)
        return f"callback: she gave a missed call at {_local(at, sched)}"
    if attempt.number == 1:
        return "first attempt"
    before = await records.attempt_before(sched.store, attempt.delivery_id, attempt.id)
    if before is None:
        return f"attempt {attempt.number}"
    return f"retry after {before['outcome'] or 'a call'} at {_local(before['created_at'], sched)}"


def _chance(e: SlotEstimate) -> str:
    return f"{e.mean:.2f} +- {e.sd:.2f} ({e.answered} of {e.calls} calls)"


async def _learned(sched: ScheduleStore, sub: Subscriber, slot: str, t: datetime) -> str:
    """Why a learned retry goes in `slot`: her chance there and in her own slot."""
    pattern = await sched.calls.learning.pattern(sched.store, sub, t)
    weekday = t.astimezone(her_zone(sub)).weekday() if pattern.by_weekday else None
    day = f" on {t.astimezone(her_zone(sub)):%A}s" if weekday is not None else ""
    there = pattern.of(slot, weekday)
    if slot == sub.slot:
        return f"learned: her own slot {slot}, her chance{day} {_chance(there)}"
    return (f"learned slot {slot}: her chance{day} {_chance(there)}, in her own slot "
            f"{sub.slot} {_chance(pattern.of(sub.slot, weekday))}")


async def _placed(sched, sub: Subscriber, a, t: datetime) -> tuple[str, str]:
    """The programme slot the call is placed in (her own if none), and why."""
    why = await _why(sched, a)
    her = await sched.hers(sub.id)
    inside = slot_at(her.programme.slots, t.astimezone(her_zone(sub)).time())
    slot = inside.name if inside is not None else sub.slot
    if a.kind.value == "scheduled" and a.number > 1 and \
            her.programme.retry.retry_slots is RetrySlots.LEARNED:
        why += "; " + await _learned(her, sub, slot, t)
    return slot, why


def _local(x: float, sched: ScheduleStore) -> str:
    return instant(x).astimezone(zone(sched.programme.timezone)).strftime("%d %b %H:%M")


async def preview(sched: ScheduleStore, day: date, now: datetime, *,
                  reveal: bool = False) -> list[PlannedCall]:
    """The calls of `day` (a local date of the programme's zone) from `now` on: one
    programme's (`ivr schedule preview` previews each programme on its own, its day in its
    own zone)."""
    tz = zone(sched.programme.timezone)
    t: datetime | None = max(day_start(day, tz), now)
    end = day_start(day + timedelta(days=1), tz)
    out: list[PlannedCall] = []
    try:
        async with sched.store.transaction():
            while t is not None and t < end:
                await sched.run_plans(t)
                for a in await sched.claim(t, OWNER, BIG):
                    sub = await sched.subscriber(a.subscriber_id)
                    slot, why = await _placed(sched, sub, a, t)
                    out.append(PlannedCall(
                        at=t, slot=slot, woman=sub.id, phone=phone_out(sub.phone, reveal),
                        language=sub.language, message=a.message_key, attempt=a.number,
                        kind=a.kind.value, why=why, programme=sched.programme.name))
                t = await _next_time(sched, t)
            raise _Rollback
    except _Rollback:
        pass
    return out
