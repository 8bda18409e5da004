"""The retention rule ([privacy] keep_call_records): call records older than the rule are
deleted, once a day in `ivr run` and on demand with `ivr db purge`.

Deleted: ended calls (attempts) placed before the cut-off, and missed calls received
before it that the service has handled. Never a live call (outcome NULL: the service still
owns it) nor an unhandled missed call. The rows that point at a deleted call keep
everything but the link to it: the callback it served (times, status), the answers given in
it and the follow-ups they opened, a call-centre list row.

What `ivr report` loses (it counts from the call rows; the daily counts of the days the
cut-off reaches are dropped with them and rolled again from the rows left): calls placed
before the cut-off drop out of pick-up, listening and failure figures, missed calls received
before it out of the callback figures, and the funnel's "first attempt" / "first answer"
no longer count a woman whose every call was deleted. Women (enrolled, retention,
deactivation reasons) are not touched. The summary per woman of the at-risk list and the
funnel (ivr/adapters/report_engagement.py) is folded again, in the page's transaction, for
the women whose calls the page deleted, from their calls left.
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


PAGE = 20_000           # call records (and missed calls) deleted a transaction
# the tables whose rows point at a call (attempt_id, indexed by migration 021)
LINKS = ("callback_requests", "answers", "follow_ups", "call_centre_list")


async def purge_page(store: Store, before: datetime, *, now: datetime, actor: str = "ivr",
                     page: int = PAGE) -> dict:
    """One transaction: at most `page` of the ended calls older than `before` deleted (the
    oldest first) and at most `page` of the handled missed calls; audited with the counts
    when it deleted any. Returns {"before": ..., "calls": n, "missed_calls": n}: a count
    equal to `page` means more may be left."""
    cut = epoch(before)
    async with store.transaction():
        await lock(store, epoch(now))
        await unroll_before(store, cut)
        rows = await store.fetchall(
            "SELECT id, subscriber_id FROM attempts WHERE created_at < ? AND outcome IS NOT "
            "NULL ORDER BY created_at, id LIMIT ?", (cut, page))
        ids = [r[0] for r in rows]
        calls = 0
        if ids:
            taken, param = store.ids_in(ids)
            for table in LINKS:         # the rows that point at them stay, unlinked
                await store.execute(f"UPDATE {table} SET attempt_id = NULL "
                                    f"WHERE attempt_id IN {taken}", (param,))
            calls = (await store.execute(f"DELETE FROM attempts WHERE id IN {taken}",
                                         (param,))).rowcount
        if calls:           # their women's summaries folded again from the calls left
            await report_engagement.refold(store, [r[1] for r in rows if r[1] is not None])
        missed = (await store.execute(
            "DELETE FROM missed_calls WHERE id IN (SELECT id FROM missed_calls "
            "WHERE received_at < ? AND handled_at IS NOT NULL ORDER BY received_at, id "
            "LIMIT ?)", (cut, page))).rowcount
        done = {"before": before.isoformat(), "calls": calls, "missed_calls": missed}
        if calls or missed:
            await audit(store, actor=actor, action="purge_call_records", at=now, detail=done)
    return done


def more_left(done: dict, page: int = PAGE) -> bool:
    """A page that deleted a whole page of either kind: more may be left."""
    return done["calls"] >= page or done["missed_calls"] >= page


async def purge_call_records(store: Store, before: datetime, *, now: datetime,
                             actor: str = "ivr", page: int = PAGE) -> dict:
    """Delete the call records older than `before`, a page (`page` rows) a transaction
    until none is left: never a long write lock over the calls, and an interrupted purge
    leaves whole pages done (each audited), never half of one; it goes on at the next run.
    Returns the totals: {"before": ..., "calls": n, "missed_calls": n}."""
    total = {"before": before.isoformat(), "calls": 0, "missed_calls": 0}
    while True:
        done = await purge_page(store, before, now=now, actor=actor, page=page)
        total["calls"] += done["calls"]
        total["missed_calls"] += done["missed_calls"]
        if not more_left(done, page):
            return total


@dataclass
class DailyPurge:
    """The retention rule as a chore of `ivr run`: `await chore.run_if_due(store, now)` in
    the loop purges once per UTC day (nothing when `keep` is None), a page a turn while
    more is left (`behind`: the loop holds the report's rollup meanwhile, which would
    otherwise roll again the days each page cuts into)."""
    keep: timedelta | None
    page: int = PAGE
    last_day: date | None = None
    behind: bool = False
    cut: datetime | None = None

    async def run_if_due(self, store: Store, now: datetime) -> dict | None:
        if self.keep is None or (self.last_day == now.date() and not self.behind):
            return None
        if not self.behind:
            self.last_day, self.cut = now.date(), now - self.keep
        assert self.cut is not None
        self.behind = False             # a page that fails: the rest waits for tomorrow
        done = await purge_page(store, self.cut, now=now, page=self.page)
        self.behind = more_left(done, self.page)
        return done
