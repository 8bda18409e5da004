"""Workers and follow-ups for people (`ivr workers`, `ivr followups`): finding a worker by id
or name, and plain dicts ready to print, dump as JSON or CSV, phone numbers and workers'
names masked unless `reveal`."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from ivr.adapters.columns import epoch
from ivr.operators.records import name_out, phone_out, when
from scheduler.followups import FollowUp, Worker
from scheduler.model import SchedulerError
from scheduler.slots import local_date
from scheduler.store import Schedule
from scheduler.timeline import her_zone

FOLLOW_UP_COLUMNS = ["id", "woman", "phone", "rule", "reason", "due_on", "state", "owner",
                     "role", "opened_at", "closed_at", "outcome", "closed_by"]


async def find_worker(sched: Schedule, text: str) -> Worker:
    """The active worker with this id, or with exactly this name (case aside); SchedulerError
    when none or several match."""
    if text.isdigit():
        return await sched.worker(int(text))
    named = [w for w in await sched.workers() if w.name.casefold() == text.strip().casefold()]
    if not named:
        raise SchedulerError(f"no worker named {text!r} (see: ivr workers list)")
    if len(named) > 1:
        raise SchedulerError(f"several workers are named {text!r} (ids "
                             f"{', '.join(str(w.id) for w in named)}): give the id")
    return named[0]


async def worker_rows(sched: Schedule, tz: str, *, reveal: bool, iso: bool) -> list[dict]:
    """Every active worker with how many women they follow and how many open follow-ups they
    own."""
    women = Counter(a.worker_id for a in await sched.assignments())
    owned = Counter(f.worker_id for f in await sched.follow_ups())
    return [{"id": w.id, "name": name_out(w.name, reveal), "phone": phone_out(w.phone, reveal),
             "role": w.role.value, "women": women[w.id], "open_follow_ups": owned[w.id],
             "created_at": when(epoch(w.created_at), tz, iso)}
            for w in await sched.workers()]


async def follow_up_rows(sched: Schedule, follow_ups: list[FollowUp], now: datetime, *,
                         reveal: bool, iso: bool) -> list[dict]:
    """state: open, overdue (open and due before her today) or closed; owner: the worker's
    name, or 'pool' (her role's pool). Her days and times in her zone (her calendar: the
    one her follow-up's due day is counted in), whichever programme she is in."""
    names = {w.id: name_out(w.name, reveal) for w in await sched.workers()}
    women = {sub_id: await sched.subscriber(sub_id)
             for sub_id in {f.subscriber_id for f in follow_ups}}
    today = {sub_id: local_date(now, her_zone(sub)) for sub_id, sub in women.items()}
    tz = {sub_id: sub.timezone for sub_id, sub in women.items()}
    return [{"id": f.id, "woman": f.subscriber_id,
             "phone": phone_out(women[f.subscriber_id].phone, reveal), "rule": f.rule,
             "reason": f.reason, "due_on": f.due_on.isoformat(),
             "state": ("closed" if not f.open else
                       "overdue" if f.due_on < today[f.subscriber_id] else "open"),
             "owner": (names.get(f.worker_id, f"worker {f.worker_id}")
                       if f.worker_id is not None else "pool"),
             "role": f.owner_role.value,
             "opened_at": when(epoch(f.opened_at), tz[f.subscriber_id], iso),
             "closed_at": when(epoch(f.closed_at), tz[f.subscriber_id], iso),
             "outcome": f.outcome.value if f.outcome else None, "closed_by": f.closed_by}
            for f in follow_ups]
