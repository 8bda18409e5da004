"""The call centre's outreach calls in the store (table of migration 013_outreach_calls) and
the weekly engagement rows the outreach list learns from (scheduler/outreach_weeks.py turns
them into histories). Portable SQL: the same statements run on SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ivr.adapters.columns import epoch
from ivr.adapters.reports import Rows, group_column, in_range
from ivr.adapters.schedule_rows import her_record
from ivr.adapters.store import Store
from ivr.adapters.subscribers import audit
from scheduler.model import SchedulerError
from scheduler.outreach import ENGAGING_SECONDS
from scheduler.outreach_weeks import REACHED, WEEK_SECONDS, WeekRow, Woman, check_outcome


@dataclass(frozen=True)
class OutreachCall:
    id: int
    subscriber_id: int
    week: str
    outcome: str
    worker_id: int | None


def _week_of(column: str, start: float) -> str:
    """The week number of an epoch column, counted from the week starting at `start` (a float
    we computed, written into the statement: PostgreSQL cannot type `column - ?`)."""
    return f"CAST(FLOOR(({column} - {float(start)}) / {float(WEEK_SECONDS)}) AS INTEGER)"


async def week_rows(store: Store, programme: str, start: float, first_week: int) -> list[WeekRow]:
    """Per woman of `programme` and week from `first_week` to last week (weeks counted from the
    week starting at epoch `start`): engaging (an answered call, not a test, heard at least
    ENGAGING_SECONDS of its message) and called (an outreach call that reached her). One
    statement over every woman: the ended calls and the outreach calls of the window."""
    lo, hi = start + first_week * WEEK_SECONDS, start
    rows = await store.fetchall(
        "SELECT x.subscriber_id, x.wk, MAX(x.engaging) AS engaging, MAX(x.called) AS called "
        f"FROM (SELECT a.subscriber_id, {_week_of('a.created_at', start)} AS wk, "
        "MAX(CASE WHEN a.outcome = 'answered' AND COALESCE(a.heard_seconds, 0) >= ? "
        "THEN 1 ELSE 0 END) AS engaging, 0 AS called FROM attempts a "
        "WHERE a.kind != 'test' AND a.outcome IS NOT NULL AND a.subscriber_id IS NOT NULL "
        "AND a.created_at >= ? AND a.created_at < ? GROUP BY a.subscriber_id, wk "
        f"UNION ALL SELECT o.subscriber_id, {_week_of('o.at', start)} AS wk, 0 AS engaging, "
        "CASE WHEN o.outcome = ? THEN 1 ELSE 0 END AS called FROM outreach_calls o "
        "WHERE o.at >= ? AND o.at < ?) x "
        "JOIN subscribers s ON s.id = x.subscriber_id AND s.programme = ? "
        "GROUP BY x.subscriber_id, x.wk",
        (float(ENGAGING_SECONDS), lo, hi, REACHED, lo, hi, programme))
    return [WeekRow(r[0], int(r[1]), bool(r[2]), bool(r[3])) for r in rows]


async def women(store: Store, programme: str, start: float, since: float) -> list[Woman]:
    """The women of `programme` whose weeks may count: active ones, and those whose record
    changed (ended, paused) since epoch `since`; with their enrolment week."""
    rows = await store.fetchall(
        f"SELECT s.id, {_week_of('s.enrolled_at', start)} AS wk, s.status FROM subscribers s "
        "WHERE s.programme = ? AND (s.status = 'active' OR s.updated_at >= ?)",
        (programme, since))
    return [Woman(r[0], int(r[1]), r[2] == "active") for r in rows]


async def called_in_week(store: Store, week: str) -> set[int]:
    """The women with an outreach call recorded in this week (any outcome)."""
    rows = await store.fetchall(
        "SELECT subscriber_id FROM outreach_calls WHERE week = ?", (week,))
    return {r[0] for r in rows}


async def record(store: Store, sub_id: int, week: str, outcome: str, worker_id: int | None,
                 actor: str, now: datetime) -> OutreachCall:
    """Her outreach call of this week, once, with its audit row; refused for an unknown woman
    or outcome, or a second call of hers the same week (nothing written)."""
    check_outcome(outcome)
    async with store.transaction():
        await her_record(store, sub_id)
        rows = await store.fetchall(
            "INSERT INTO outreach_calls (subscriber_id, week, worker_id, outcome, at, "
            "recorded_by) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (subscriber_id, week) DO NOTHING RETURNING id",
            (sub_id, week, worker_id, outcome, epoch(now), actor))
        if not rows:
            found = await store.fetchall(
                "SELECT id, outcome FROM outreach_calls WHERE subscriber_id = ? AND week = ?",
                (sub_id, week))
            raise SchedulerError(f"woman {sub_id}'s outreach call of week {week} is recorded "
                                 f"already (call {found[0][0]}: {found[0][1]})")
        call_id = int(rows[0][0])
        await audit(store, actor=actor, action="outreach_call", at=now, subscriber_id=sub_id,
                    detail={"outreach_call": call_id, "week": week, "outcome": outcome,
                            **({"worker": worker_id} if worker_id is not None else {})})
        return OutreachCall(call_id, sub_id, week, outcome, worker_id)


async def call_counts(store: Store, by: str | None, lo: float | None,
                      hi: float | None, programme: str | None = None) -> Rows:
    """Outreach calls recorded in [lo, hi), counted (n) by group, worker and outcome (with
    `programme`: only the calls to its women)."""
    cond, args = in_range("o.at", lo, hi, programme)
    return await store.fetchall(
        f"SELECT {group_column(by)} AS grp, o.worker_id, w.name AS worker_name, o.outcome, "
        "COUNT(*) AS n FROM outreach_calls o JOIN subscribers s ON s.id = o.subscriber_id "
        f"LEFT JOIN workers w ON w.id = o.worker_id WHERE {cond} "
        "GROUP BY grp, o.worker_id, w.name, o.outcome", args)
