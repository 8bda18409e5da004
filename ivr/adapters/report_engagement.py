"""`ivr report`'s at-risk list and funnel from a summary per woman (migrations 019, 020):
the writer (the fold, a chore of `ivr run`) and the readers of report_engagement.

For each at-risk share (a programme's low_listening_share), report_engagement holds per
woman what scheduler/engagement.py's rule reads of her ended calls (tests never) placed
before the share's `upto` (scheduler.engagement.Summary: low_run, since), and when she last
answered a call (last_answered). The report joins it with the calls placed since `upto`,
reduced per woman by the database as reports.at_risk_women does, by
scheduler.engagement.joined: the same women and figures as reports.at_risk_women over every
call (tests/operators/test_report_engagement.py), one row per woman instead of every call.

`upto` only moves to an instant before which no call is live and every call ended GRACE
ago (what the controller writes after the outcome, heard share and plays, lands within it),
a few days of calls a transaction (STEP). Every writer first writes report_lock's row (as
the rollup's): two nodes never fold the same calls twice. Retention's purge page folds
again, in its transaction, the rows of the women whose calls it deleted, from their calls
left (refold). An erased woman's row forgets her listening (she is never active again).
The funnel (tried, answered per woman) reads the same rows: "first attempt" and "first
answer" probe only the calls placed since `upto` (funnel).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.adapters import reports
from ivr.adapters.report_rollup import GRACE, LIVE, hourly_due, lock
from ivr.adapters.store import Store
from scheduler.engagement import Summary, joined

log = logging.getLogger(__name__)

CHUNK = 500                  # women in one IN (...) list
STEP = 3 * 86400.0           # at most this much call time folded in one transaction
STEPS_PER_TURN = 2           # while behind, at most this many steps a turn of its loop
COLUMNS = "subscriber_id, low_run, since, last_answered, tried, answered"
# a window's calls by their created_at index (SQLite would skip-scan every woman's calls)
BY_TIME = "INDEXED BY attempts_created"
CONTACT = "s.id, s.phone, s.name, s.language, s.slot, s.partner, s.timezone"


@dataclass
class Her:
    """One woman's summary: the rule's (Summary), when she last answered a call, and
    whether a call of hers (tests never) was started (tried) and answered: the funnel's."""
    summary: Summary = field(default_factory=Summary)
    last_answered: float | None = None
    tried: bool = False
    answered: bool = False


def _window(lo: float | None, hi: float | None, alias: str = "") -> tuple[str, tuple]:
    """` AND ` the calls placed in [lo, hi) (reports.in_range over `alias`created_at)."""
    sql, args = reports.in_range(f"{alias}created_at", lo, hi)
    return f" AND {sql}", args


async def calls_in(store: Store, low_share: float, lo: float | None, hi: float | None,
                   only: Sequence[int] = ()) -> dict[int, Her]:
    """The calls placed in [lo, hi) (None: open), reduced per woman: her Summary of them
    (their ended calls, tests never, in her order: placed, then id), when she last answered
    one of them (any kind), and whether one (tests never) was started, answered.
    reports.at_risk_women's reduction, over a window; `only`: these women's calls (by her
    index, not the window's)."""
    cond, args = _window(lo, hi)
    acond, aargs = _window(lo, hi, "a.")
    hint = BY_TIME
    if only:
        hint, marks = "", ", ".join("?" * len(only))
        cond, acond = f"{cond} AND subscriber_id IN ({marks})", \
            f"{acond} AND a.subscriber_id IN ({marks})"
        args, aargs = (*args, *only), (*aargs, *only)
    women: dict[int, Her] = {}
    for r in await store.fetchall(
            "SELECT subscriber_id, MAX(CASE WHEN outcome = 'answered' AND kind != 'test' AND"
            " COALESCE(heard_share, 0) >= ? THEN created_at END),"
            " MAX(CASE WHEN outcome = 'answered' THEN created_at END),"
            " MAX(CASE WHEN kind != 'test' AND started_at IS NOT NULL THEN 1 ELSE 0 END),"
            " MAX(CASE WHEN kind != 'test' AND outcome = 'answered' THEN 1 ELSE 0 END)"
            f" FROM attempts {hint} WHERE subscriber_id IS NOT NULL{cond}"
            " GROUP BY subscriber_id", (low_share, *args)):
        women[r[0]] = Her(Summary(reset=r[1] is not None), r[2], bool(r[3]), bool(r[4]))
    for r in await store.fetchall(
            "WITH good AS (SELECT subscriber_id, MAX(created_at) AS t FROM attempts"
            f" {hint} WHERE outcome = 'answered' AND COALESCE(heard_share, 0) >= ?"
            f" AND kind != 'test'{cond} GROUP BY subscriber_id), "
            "after AS (SELECT a.subscriber_id AS sid, COALESCE(a.ended_at, a.created_at) AS t,"
            " CASE WHEN a.outcome = 'answered' THEN 1 ELSE 0 END AS ans,"
            " ROW_NUMBER() OVER (PARTITION BY a.subscriber_id ORDER BY a.created_at, a.id) AS k"
            f" FROM attempts a {hint} LEFT JOIN good ON good.subscriber_id = a.subscriber_id"
            " WHERE a.kind != 'test' AND a.outcome IS NOT NULL AND a.subscriber_id IS NOT NULL"
            f" AND a.created_at > COALESCE(good.t, -1){acond}), "
            "marked AS (SELECT sid, t, ans, k, MAX(ans * k) OVER (PARTITION BY sid) AS la"
            " FROM after) "
            "SELECT sid, SUM(ans), MAX(CASE WHEN k = la + 1 THEN t END) FROM marked"
            " GROUP BY sid", (low_share, *args, *aargs)):
        her = women[r[0]]           # every woman of the window has her row of the first
        her.summary = Summary(int(r[1]), r[2], her.summary.reset)
    return women


async def upto(store: Store, low_share: float) -> float | None:
    """The instant the summary of `low_share` holds the calls placed before (None: none)."""
    rows = await store.fetchall("SELECT upto FROM report_engagement_upto WHERE low_share = ?",
                                (low_share,))
    return rows[0][0] if rows else None


async def _rows_of(store: Store, low_share: float, ids: Sequence[int]) -> dict[int, Her]:
    out: dict[int, Her] = {}
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        for r in await store.fetchall(
                f"SELECT {COLUMNS} FROM report_engagement WHERE low_share = ? AND "
                f"subscriber_id IN ({', '.join('?' * len(part))})", (low_share, *part)):
            out[r[0]] = Her(Summary(r[1], r[2]), r[3], bool(r[4]), bool(r[5]))
    return out


def _then(before: Her | None, after: Her) -> Her:
    if before is None:
        return Her(Summary(after.summary.low_run, after.summary.since), after.last_answered,
                   after.tried, after.answered)
    last = max((t for t in (before.last_answered, after.last_answered) if t is not None),
               default=None)
    s = joined(before.summary, after.summary)
    return Her(Summary(s.low_run, s.since), last, before.tried or after.tried,
               before.answered or after.answered)


async def fold(store: Store, low_share: float, now: float, *, step: float = STEP) -> bool:
    """Fold the calls placed since the summary's `upto` into it, at most `step` seconds of
    them, in one transaction. Returns whether calls are left to fold (then call it again)."""
    async with store.transaction():
        await lock(store, now)
        first = await upto(store, low_share)
        if first is None:
            first = (await store.fetchall("SELECT MIN(created_at) FROM attempts"))[0][0]
            if first is None:
                return False
        live = [r[0] for r in await store.fetchall(LIVE)]
        end = min([now - GRACE, *live])
        last = min(end, first + step)
        if last <= first:
            return False
        window = await calls_in(store, low_share, first, last)
        before = await _rows_of(store, low_share, sorted(window))
        await _write(store, low_share, {sid: _then(before.get(sid), after)
                                        for sid, after in window.items()})
        await store.execute(
            "INSERT INTO report_engagement_upto (low_share, upto, folded_at) VALUES (?, ?, ?) "
            "ON CONFLICT (low_share) DO UPDATE SET upto = excluded.upto, "
            "folded_at = excluded.folded_at", (low_share, last, now))
    return last < end


async def _write(store: Store, low_share: float, women: dict[int, Her]) -> None:
    await store.executemany(
        f"INSERT INTO report_engagement (low_share, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (low_share, subscriber_id) DO UPDATE SET low_run = excluded.low_run,"
        " since = excluded.since, last_answered = excluded.last_answered,"
        " tried = excluded.tried, answered = excluded.answered",
        [(low_share, sid, her.summary.low_run, her.summary.since, her.last_answered,
          int(her.tried), int(her.answered)) for sid, her in women.items()])


async def fold_all(store: Store, low_share: float, now: float, *,
                   step: float = STEP) -> int:
    """Fold every call that may be folded (a catch-up). Returns the transactions."""
    n = 1
    while await fold(store, low_share, now, step=step):
        n += 1
    return n


async def forget(store: Store) -> None:
    """Drop every summary (tests, benchmarks: the report as it reads without one); the fold
    starts again from every call."""
    await store.execute("DELETE FROM report_engagement")
    await store.execute("DELETE FROM report_engagement_upto")


async def refold(store: Store, women: Sequence[int]) -> int:
    """In the caller's transaction (retention's purge page, after it deleted calls of these
    women): their rows of every share folded again from their calls left before its
    `upto` (a woman with none left: no row). Returns the rows written."""
    written = 0
    ids = sorted(set(women))
    for share, end in await store.fetchall(
            "SELECT low_share, upto FROM report_engagement_upto ORDER BY low_share"):
        for i in range(0, len(ids), CHUNK):
            part = ids[i:i + CHUNK]
            await store.execute(
                "DELETE FROM report_engagement WHERE low_share = ? AND subscriber_id IN "
                f"({', '.join('?' * len(part))})", (share, *part))
            window = await calls_in(store, share, None, end, part)
            await _write(store, share, {sid: _then(None, her) for sid, her in window.items()})
            written += len(window)
    return written


async def forget_woman(store: Store, sub_id: int) -> None:
    """In the caller's transaction (her erasure; she is never active again): what her rows
    say of her listening; the funnel's tried and answered stay (her calls stay)."""
    await store.execute("UPDATE report_engagement SET low_run = 0, since = NULL, "
                        "last_answered = NULL WHERE subscriber_id = ?", (sub_id,))


async def at_risk_women(store: Store, *, low_share: float, unanswered_since: float,
                        low_calls: int, programme: str | None = None,
                        by: str | None = None) -> list | None:
    """reports.at_risk_women's rows (subscriber_id, low_run, since), each with when she last
    answered a call (last_answered) and her contact columns and group (`by`) as
    reports.women_with_last_answer's (id, phone, name, language, slot, partner, timezone,
    grp), from the summary of `low_share` and the calls placed since its `upto`; None when
    there is no summary of that share yet."""
    start = await upto(store, low_share)
    if start is None:
        return None
    mine = "" if programme is None else " AND s.programme = ?"
    recent = await calls_in(store, low_share, start, None)
    rows: dict[int, Any] = {r[0]: r for r in await store.fetchall(
        f"SELECT e.{COLUMNS.replace(', ', ', e.')}, {CONTACT}, {reports.group_column(by)}"
        " AS grp FROM report_engagement e"
        " JOIN subscribers s ON s.id = e.subscriber_id AND s.status = 'active'"
        f" WHERE e.low_share = ? AND (e.since <= ? OR e.low_run >= ?){mine}",
        (low_share, unanswered_since, low_calls, *([] if programme is None else [programme])))}
    if not recent:
        return list(rows.values())
    wanted = await _active(store, list(recent), programme)
    before = await _rows_of(store, low_share, sorted(wanted - set(rows)))
    contacts = {r["id"]: r for r in await women(store, by, sorted(wanted))}
    for sid in wanted:
        row = rows.pop(sid, None)
        her = _then(before.get(sid) if row is None else
                    Her(Summary(row["low_run"], row["since"]), row["last_answered"]),
                    recent[sid])     # (tried, answered: not read here)
        if (her.summary.since is not None and her.summary.since <= unanswered_since) \
                or her.summary.low_run >= low_calls:
            rows[sid] = {**dict(contacts[sid]), "subscriber_id": sid,
                         "low_run": her.summary.low_run, "since": her.summary.since,
                         "last_answered": her.last_answered}
    return list(rows.values())


async def funnel(store: Store, by: str | None, lo: float | None, hi: float | None,
                 programme: str | None = None) -> list | None:
    """reports.funnel's rows, her "first attempt" and "first answer" from the summary's
    tried and answered (any share's: each holds every call before its `upto`) and the calls
    placed since its `upto`; None when there is no summary."""
    held = await store.fetchall("SELECT low_share, upto FROM report_engagement_upto "
                                "ORDER BY low_share LIMIT 1")
    if not held:
        return None
    share, start = held[0]
    cond, args = reports.in_range("s.enrolled_at", lo, hi, programme)
    since = (f"s.id IN (SELECT subscriber_id FROM attempts {BY_TIME} WHERE created_at >= ?"
             " AND kind != 'test' AND ")
    return await store.fetchall(
        f"SELECT {reports.group_column(by)} AS grp, COUNT(*) AS enrolled, "
        f"{reports.VALID_NUMBER},"
        f" SUM(CASE WHEN e.tried = 1 OR {since}started_at IS NOT NULL) THEN 1 ELSE 0 END)"
        "  AS first_attempt,"
        f" SUM(CASE WHEN e.answered = 1 OR {since}outcome = 'answered') THEN 1 ELSE 0 END)"
        "  AS first_answer "
        "FROM subscribers s LEFT JOIN report_engagement e"
        " ON e.low_share = ? AND e.subscriber_id = s.id "
        f"WHERE {cond} GROUP BY grp", (start, start, share, *args))


async def _active(store: Store, ids: list[int], programme: str | None) -> set[int]:
    out: set[int] = set()
    mine = "" if programme is None else " AND programme = ?"
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        out |= {r[0] for r in await store.fetchall(
            f"SELECT id FROM subscribers WHERE status = 'active'{mine} AND id IN "
            f"({', '.join('?' * len(part))})", (*([] if programme is None else [programme]),
                                                 *part))}
    return out


async def women(store: Store, by: str | None, ids: list[int]) -> list:
    """These women's contact columns and group (reports.women_with_last_answer's, without
    the last answer: the summary has it)."""
    out: list = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        out += await store.fetchall(
            f"SELECT {CONTACT}, {reports.group_column(by)} AS grp FROM subscribers s "
            f"WHERE s.id IN ({','.join('?' * len(part))})", tuple(part))
    return out


@dataclass
class HourlyFold:
    """The fold as a chore of `ivr run`: `await chore.run_if_due(store, now)` in the loop
    folds, for each share of `shares` (the programmes' at-risk rules), STEPS_PER_TURN steps
    every turn while calls are left, then once an hour."""
    shares: tuple[float, ...]
    last: datetime | None = None
    behind: bool = True

    async def run_if_due(self, store: Store, now: datetime) -> int:
        if not hourly_due(self, now):
            return 0
        done = 0
        for share in self.shares:
            for _ in range(STEPS_PER_TURN):
                done += 1
                if not await fold(store, share, now.timestamp()):
                    break
            else:
                self.behind = True
        return done


def shares(rules: Iterable) -> tuple[float, ...]:
    """The distinct at-risk shares of these rules (scheduler.policy.AtRiskRule)."""
    return tuple(sorted({r.low_listening_share for r in rules}))
