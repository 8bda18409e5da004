"""The retention rule ([privacy] keep_call_records): call records older than the rule are
deleted, once a day in `ivr run` and on demand with `ivr db purge`.

Deleted: ended calls (attempts) placed before the cut-off, and missed calls received
before it that the service has handled. Never a live call (outcome NULL: the service still
owns it) nor an unhandled missed call. A callback that was served by a deleted call keeps
its row (times, status) without the link to it.

What `ivr report` loses (it counts from the call rows; the daily counts of the days the
cut-off reaches are dropped with them and rolled again from the rows left): calls placed
before the cut-off drop out of pick-up, listening and failure figures, missed calls received
before it out of the callback figures, and the funnel's "first attempt" / "first answer"
no longer count a woman whose every call was deleted. Women (enrolled, retention,
deactivation reasons) are not touched. The at-risk list's summary per woman is dropped
with any call and folded again from the calls left (ivr/adapters/report_engagement.py).
Run `ivr report --json` before setting the rule if the old figures matter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ivr.adapters.columns import epoch
from ivr.adapters import report_engagement
from ivr.adapters.report_rollup import lock, unroll_before
from ivr.adapters.store import Store
from ivr.adapters.subscribers import audit


async def purge_call_records(store: Store, before: datetime, *, now: datetime,
                             actor: str = "ivr") -> dict:
    """Delete the call records older than `before`, in one transaction; audited with the
    counts. Returns {"before": ..., "calls": n, "missed_calls": n}."""
    cut = epoch(before)
    async with store.transaction():
        await lock(store, epoch(now))
        await unroll_before(store, cut)
        old = "SELECT id FROM attempts WHERE created_at < ? AND outcome IS NOT NULL"
        await store.execute(f"UPDATE callback_requests SET attempt_id = NULL "
                            f"WHERE attempt_id IN ({old})", (cut,))
        calls = (await store.execute(
            "DELETE FROM attempts WHERE created_at < ? AND outcome IS NOT NULL", (cut,))).rowcount
        if calls:
            await report_engagement.forget(store)      # folded again from the calls left
        missed = (await store.execute(
            "DELETE FROM missed_calls WHERE received_at < ? AND handled_at IS NOT NULL",
            (cut,))).rowcount
        done = {"before": before.isoformat(), "calls": calls, "missed_calls": missed}
        if calls or missed:
            await audit(store, actor=actor, action="purge_call_records", at=now, detail=done)
    return done


@dataclass
class DailyPurge:
    """The retention rule as a chore of `ivr run`: `await chore.run_if_due(store, now)` in
    the loop purges at most once per UTC day (nothing when `keep` is None)."""
    keep: timedelta | None
    last_day: date | None = None

    async def run_if_due(self, store: Store, now: datetime) -> dict | None:
        if self.keep is None or self.last_day == now.date():
            return None
        self.last_day = now.date()
        return await purge_call_records(store, now - self.keep, now=now)
