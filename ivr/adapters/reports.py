"""The queries of `ivr report` (read-only): counts grouped by the whole programme ('all') or
by her language, slot or enrolment partner (`by`), over a range [lo, hi) of epoch seconds.
Test calls never count. ivr/operators/report.py turns the rows into the report's sections.

One SQL for SQLite and PostgreSQL: a condition counted is CASE WHEN ... THEN 1 ELSE 0 END (a
boolean is not a number to PostgreSQL), days are FLOOR()ed (CAST rounds there), and every
GROUP BY names its expressions by their output names."""
from __future__ import annotations

import sqlite3

from ivr.adapters.store import Store

DIMENSIONS = {None: "'all'", "language": "s.language", "slot": "s.slot",
              "partner": "COALESCE(s.partner, '(none)')"}
CHUNK = 500         # ids in one IN (...) list
# a call's heard band (0 under half, 1 half, 2 three quarters) and whether it was replayed
HEARD_BAND = ("CASE WHEN a.heard_share >= 0.75 THEN 2 WHEN a.heard_share >= 0.5 THEN 1 "
              "ELSE 0 END")
REPLAYED = "CASE WHEN COALESCE(a.plays, 0) >= 2 THEN 1 ELSE 0 END"
# the funnel's women with a valid number (all but those deactivated for an invalid one)
VALID_NUMBER = ("SUM(CASE WHEN NOT (s.status = 'deactivated' AND s.status_reason = "
                "'invalid_number') THEN 1 ELSE 0 END) AS valid_number")

Rows = list[sqlite3.Row]


def in_range(col: str, lo: float | None, hi: float | None,
             programme: str | None = None) -> tuple[str, tuple]:
    """[lo, hi) of `col`; with `programme`, only her programme's women (alias s)."""
    sql: list[str] = []
    args: list[object] = []
    if programme is not None:
        sql.append("s.programme = ?")
        args.append(programme)
    if lo is not None:
        sql.append(f"{col} >= ?")
        args.append(lo)
    if hi is not None:
        sql.append(f"{col} < ?")
        args.append(hi)
    return (" AND ".join(sql) or "1 = 1"), tuple(args)


def group_column(by: str | None) -> str:
    if by not in DIMENSIONS:
        raise ValueError(f"cannot group by {by!r} (language, slot or partner)")
    return DIMENSIONS[by]


async def funnel(store: Store, by: str | None, lo: float | None, hi: float | None,
                 programme: str | None = None) -> Rows:
    """Women enrolled in the range: how many, with a valid number, tried, answered once."""
    cond, args = in_range("s.enrolled_at", lo, hi, programme)
    return await store.fetchall(
        f"SELECT {group_column(by)} AS grp, COUNT(*) AS enrolled, "
        f" {VALID_NUMBER},"
        " SUM(CASE WHEN EXISTS (SELECT 1 FROM attempts a WHERE a.subscriber_id = s.id"
        "     AND a.kind != 'test' AND a.started_at IS NOT NULL) THEN 1 ELSE 0 END)"
        "  AS first_attempt,"
        " SUM(CASE WHEN EXISTS (SELECT 1 FROM attempts a WHERE a.subscriber_id = s.id"
        "     AND a.kind != 'test' AND a.outcome = 'answered') THEN 1 ELSE 0 END)"
        "  AS first_answer "
        f"FROM subscribers s WHERE {cond} GROUP BY grp", args)


async def statuses(store: Store, by: str | None, lo: float | None, hi: float | None,
                   programme: str | None = None) -> Rows:
    """Women enrolled in the range, counted (n) by status and status_reason."""
    cond, args = in_range("s.enrolled_at", lo, hi, programme)
    return await store.fetchall(
        f"SELECT {group_column(by)} AS grp, s.status, s.status_reason, COUNT(*) AS n "
        f"FROM subscribers s WHERE {cond} GROUP BY grp, s.status, s.status_reason", args)


async def call_cube(store: Store, by: str | None, lo: float | None, hi: float | None,
                    offset: float, programme: str | None = None) -> Rows:
    """Ended calls placed in the range, counted (n) by kind, attempt number, slot, local
    weekday (wd, 0 = Sunday; `offset`: the zone's UTC offset in seconds), outcome, heard
    band (hb: 0 under half, 1 half, 2 three quarters) and replayed; heard: their heard
    shares summed. One scan of the attempts, its few groups counted in memory
    (Store.fetch_grouped)."""
    cond, args = in_range("a.created_at", lo, hi, programme)
    return await store.fetch_grouped(
        f"SELECT {group_column(by)} AS grp, a.kind, a.number, s.slot, "
        # weekday 0 = Sunday, as strftime('%w'); 1970-01-01 was a Thursday (4)
        f" (CAST(FLOOR((a.created_at + {float(offset)}) / 86400) AS INTEGER) + 4) % 7 AS wd,"
        " a.outcome,"
        f" {HEARD_BAND} AS hb, {REPLAYED} AS replayed,"
        " COUNT(*) AS n, SUM(COALESCE(a.heard_share, 0)) AS heard "
        # a bounded range: its calls by their created_at index first (SQLite would probe
        # every woman's calls instead), then each one's woman
        f"FROM attempts a {'JOIN' if lo is None and hi is None else 'CROSS JOIN'} "
        "subscribers s ON s.id = a.subscriber_id "
        f"WHERE a.kind != 'test' AND a.outcome IS NOT NULL AND {cond} "
        "GROUP BY grp, a.kind, a.number, s.slot, wd, a.outcome, hb, replayed", args)


async def missed_calls(store: Store, by: str | None, lo: float | None,
                       hi: float | None, programme: str | None = None,
                       nobodys: bool = True) -> Rows:
    """Missed calls received in the range (missed), and those from no known woman (strangers:
    their group is NULL). With `programme`, only her programme's women, and the strangers
    with `nobodys` (the default programme's: nobody's calls are its own)."""
    cond, args = in_range("m.received_at", lo, hi)
    if programme is not None:
        cond += " AND (s.programme = ?" + (" OR m.subscriber_id IS NULL)" if nobodys else ")")
        args = (*args, programme)
    return await store.fetchall(
        f"SELECT {group_column(by)} AS grp, COUNT(*) AS missed,"
        " SUM(CASE WHEN m.subscriber_id IS NULL THEN 1 ELSE 0 END) AS strangers "
        "FROM missed_calls m LEFT JOIN subscribers s ON s.id = m.subscriber_id "
        f"WHERE {cond} GROUP BY grp", args)


async def callback_requests(store: Store, by: str | None, lo: float | None,
                            hi: float | None, programme: str | None = None) -> Rows:
    """Callback requests made in the range: status and delay (served - requested, seconds)."""
    cond, args = in_range("c.requested_at", lo, hi, programme)
    return await store.fetchall(
        f"SELECT {group_column(by)} AS grp, c.status, c.served_at - c.requested_at AS delay "
        "FROM callback_requests c JOIN subscribers s ON s.id = c.subscriber_id "
        f"WHERE {cond}", args)


async def at_risk_attempts(store: Store, *, low_share: float, unanswered_since: float,
                           low_calls: int, programme: str | None = None) -> Rows:
    """The ended calls (not tests) of active women after their last call answered and heard
    at least `low_share`, for the women who may be at risk: a call not answered before
    `unanswered_since`, or at least `low_calls` answered calls, since then. Necessary, not
    sufficient conditions: scheduler/engagement.py's rule decides. The report reads
    at_risk_women (the same, reduced per woman by the database); this one is the reference
    its tests and bench/at_risk_bench.py compare it with."""
    since = " AND a.created_at > COALESCE(good.t, -1)"
    return await store.fetchall(
        "WITH good AS (SELECT subscriber_id, MAX(created_at) AS t FROM attempts"
        " WHERE outcome = 'answered' AND COALESCE(heard_share, 0) >= ? AND kind != 'test'"
        " GROUP BY subscriber_id), "
        "candidates AS (SELECT a.subscriber_id FROM attempts a"
        " LEFT JOIN good ON good.subscriber_id = a.subscriber_id"
        f" WHERE a.kind != 'test' AND a.outcome IS NOT NULL{since}"
        " GROUP BY a.subscriber_id HAVING MIN(CASE WHEN a.outcome != 'answered'"
        " THEN COALESCE(a.ended_at, a.created_at) END) <= ?"
        " OR SUM(CASE WHEN a.outcome = 'answered' THEN 1 ELSE 0 END) >= ?) "
        "SELECT a.id, a.subscriber_id, a.kind, a.message_key, a.number, a.created_at,"
        " a.ended_at, a.outcome, a.heard_share FROM candidates c"
        " JOIN subscribers s ON s.id = c.subscriber_id AND s.status = 'active'"
        " JOIN attempts a ON a.subscriber_id = c.subscriber_id"
        " LEFT JOIN good ON good.subscriber_id = a.subscriber_id"
        f" WHERE a.kind != 'test' AND a.outcome IS NOT NULL{since}"
        + ("" if programme is None else " AND s.programme = ?"),
        (low_share, unanswered_since, low_calls, *([] if programme is None else [programme])))


async def at_risk_women(store: Store, *, low_share: float, unanswered_since: float,
                        low_calls: int, programme: str | None = None) -> Rows:
    """Per active woman who may be at risk, what scheduler/engagement.py's rule reads of her
    ended calls (not tests) after her last call answered and heard at least `low_share` (that
    call resets both counters): `low_run`, her answered calls since (each heard under the
    share), and `since`, when her first unanswered call after her last answered one ended (or
    was placed; NULL if none). The database does the per-woman reduction; only women with a
    call not answered before `unanswered_since` or `low_calls` answered calls since come back
    (necessary, not sufficient: the rule decides). The same women and figures as
    at_risk_attempts folded by scheduler/engagement.from_attempts (tests/scheduler and
    tests/operators/test_at_risk_women_sql.py)."""
    return await store.fetchall(
        "WITH good AS (SELECT subscriber_id, MAX(created_at) AS t FROM attempts"
        " WHERE outcome = 'answered' AND COALESCE(heard_share, 0) >= ? AND kind != 'test'"
        " GROUP BY subscriber_id), "
        # her calls after it, numbered in her order (placed, then id)
        "after AS (SELECT a.subscriber_id AS sid, COALESCE(a.ended_at, a.created_at) AS t,"
        " CASE WHEN a.outcome = 'answered' THEN 1 ELSE 0 END AS ans,"
        " ROW_NUMBER() OVER (PARTITION BY a.subscriber_id ORDER BY a.created_at, a.id) AS k"
        " FROM attempts a LEFT JOIN good ON good.subscriber_id = a.subscriber_id"
        " WHERE a.kind != 'test' AND a.outcome IS NOT NULL"
        " AND a.created_at > COALESCE(good.t, -1)), "
        # la: the number of her last answered call (0: none); the next one began the run
        "marked AS (SELECT sid, t, ans, k, MAX(ans * k) OVER (PARTITION BY sid) AS la"
        " FROM after), "
        "women AS (SELECT sid, SUM(ans) AS low_run,"
        " MAX(CASE WHEN k = la + 1 THEN t END) AS since FROM marked GROUP BY sid) "
        "SELECT w.sid AS subscriber_id, w.low_run, w.since FROM women w"
        " JOIN subscribers s ON s.id = w.sid AND s.status = 'active'"
        " WHERE (w.since <= ? OR w.low_run >= ?)"
        + ("" if programme is None else " AND s.programme = ?"),
        (low_share, unanswered_since, low_calls, *([] if programme is None else [programme])))


async def women_with_last_answer(store: Store, by: str | None, ids: list[int]) -> Rows:
    """These women (contact columns, group) and when each last answered a call."""
    out: Rows = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        out += await store.fetchall(
            f"SELECT s.id, s.phone, s.name, s.language, s.slot, s.partner, s.timezone, "
            f"{group_column(by)} AS grp, (SELECT MAX(a.created_at) FROM attempts a "
            "WHERE a.subscriber_id = s.id "
            "AND a.outcome = 'answered') AS last_answered "
            f"FROM subscribers s WHERE s.id IN ({','.join('?' * len(part))})",
            tuple(part))
    return out


async def promised_calls(store: Store, by: str | None, programme: str | None = None) -> Rows:
    """The call centre's list not yet handled, oldest first, with her contact columns."""
    cond, args = in_range("l.added_at", None, None, programme)
    return await store.fetchall(
        f"SELECT l.subscriber_id, l.attempt_id, l.reason, l.added_at, s.phone, s.name, "
        f"s.language, s.timezone, {group_column(by)} AS grp FROM call_centre_list l "
        f"JOIN subscribers s ON s.id = l.subscriber_id WHERE l.done_at IS NULL AND {cond} "
        "ORDER BY l.added_at, l.id", args)
