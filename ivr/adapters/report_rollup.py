"""`ivr report`'s calls per closed day (migration 017): the writers of report_days,
report_calls and report_women. ivr/adapters/report_calls.py reads them.

A day is a local day cut at a UTC offset (seconds): day d holds the calls created in
[d * 86400 - offset, (d + 1) * 86400 - offset). It is closed, and may be rolled up, when it
ended GRACE ago and none of its calls is live: a live call ends with its outcome (the
closing write), what the controller records a few seconds after it (plays, heard) lands
within GRACE, and a new call is created at its claim, now (so never in a closed day).

What a rolled day keeps: its ended calls (tests never), counted by kind, attempt number,
outcome, heard band and replayed, per programme, language, slot and partner of the woman,
and their heard shares summed. Nothing that says who she is: report_women keeps, per woman
whose calls are rolled, the four values her calls are counted under. When hers change (she
moves slot, her partner is erased), `rekey` moves her rolled calls to her new values; until
it runs, the report corrects for it as it reads. Every writer first writes report_lock's
one row: on PostgreSQL the second node waits for the first's commit, then finds the day
rolled (or the woman rekeyed) and does nothing, so nothing is counted twice; SQLite has one
writer anyway.

What retention does to it (ivr/adapters/retention.py): the days its cut-off reaches are
unrolled (their rows deleted) in the purge's transaction, and rolled again from the rows
left, so the report counts exactly what the call rows still hold, as it did before.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ivr.adapters.reports import HEARD_BAND, REPLAYED
from ivr.adapters.store import Store
from scheduler.slots import zone

log = logging.getLogger(__name__)

DAY = 86400
GRACE = 6 * 3600.0           # a day is closed this long after its end (and with no live call)
CHUNK = 500                  # women in one IN (...) list
EVERY = timedelta(hours=1)   # `ivr run` rolls the closed days (and folds the calls) once an hour
SCAN_DAYS = 7                # a run of this many days is read by a scan of the calls
DAYS_PER_TURN = 2            # at most this many days per turn of its loop (a day: a transaction)

KEY = ("utc_offset", "day", "programme", "language", "slot", "partner", "kind", "number",
       "outcome", "hb", "replayed")
WOMAN = ("programme", "language", "slot", "partner")
LIVE = "SELECT created_at FROM attempts WHERE outcome IS NULL"    # a few: an index of them
HER = "s.programme, s.language, s.slot, COALESCE(s.partner, '(none)')"


def day_of(t: float, offset: int) -> int:
    return math.floor((t + offset) / DAY)


def day_bounds(offset: int, day: int) -> tuple[int, int]:
    """[start, end) of `day` in epoch seconds."""
    return day * DAY - offset, (day + 1) * DAY - offset


def whole_offset(offset: float) -> int | None:
    """The offset as the rollup keys it; None when it is not a whole number of seconds."""
    return int(offset) if float(offset).is_integer() else None


async def lock(store: Store, now: float) -> None:
    """In a transaction: wait for any other writer of the rollup (report_lock's row, made by
    the first writer: a migrated database holds no row, `ivr db copy` copies into it)."""
    await store.execute("INSERT INTO report_lock (id, held_at) VALUES (1, ?) ON CONFLICT (id) "
                        "DO UPDATE SET held_at = excluded.held_at", (now,))


async def closed_days(store: Store, now: float, offset: int) -> list[int]:
    """The closed days not rolled up yet, oldest first, from the first call's day."""
    first = (await store.fetchall("SELECT MIN(created_at) FROM attempts"))[0][0]
    if first is None:
        return []
    last = day_of(now - GRACE, offset) - 1
    live = {day_of(r[0], offset) for r in await store.fetchall(LIVE)}
    rolled = {r[0] for r in await store.fetchall(
        "SELECT day FROM report_days WHERE utc_offset = ?", (offset,))}
    return [d for d in range(day_of(first, offset), last + 1) if d not in rolled | live]


async def roll_days(store: Store, offset: int, first: int, last: int, now: float) -> int:
    """Roll the closed days first..last up, in one transaction. Returns how many: none when
    one of them is rolled already (another node did it) or a call of one is live after all.
    A long run (a catch-up, SCAN_DAYS or more) reads the calls by a scan of the table, and
    her values for each woman: cheaper than by day then."""
    lo, hi = day_bounds(offset, first)[0], day_bounds(offset, last)[1]
    if hi + GRACE > now or last < first:
        raise ValueError(f"days {first}-{last} (offset {offset}) are not closed at {now}")
    scan = "+" if last - first + 1 >= SCAN_DAYS else ""
    async with store.transaction():
        await lock(store, now)
        if await store.fetchall("SELECT 1 FROM report_days WHERE utc_offset = ? AND day >= ? "
                                "AND day <= ?", (offset, first, last)):
            return 0
        if any(lo <= r[0] < hi for r in await store.fetchall(LIVE)):
            return 0
        ended = f"{scan}a.created_at >= ? AND a.created_at < ? AND a.kind != 'test' " \
                "AND a.outcome IS NOT NULL"
        women = (f"SELECT DISTINCT s.id, {HER} FROM attempts a JOIN subscribers s "
                 f"ON s.id = a.subscriber_id WHERE {ended}") if not scan else (
                 f"SELECT s.id, {HER} FROM subscribers s WHERE EXISTS (SELECT 1 FROM "
                 "attempts a WHERE a.subscriber_id = s.id AND a.created_at >= ? "
                 "AND a.created_at < ?)")
        await store.execute(f"INSERT INTO report_women (subscriber_id, {', '.join(WOMAN)}) "
                            f"{women} ON CONFLICT (subscriber_id) DO NOTHING", (lo, hi))
        await store.execute(
            f"INSERT INTO report_calls ({', '.join(KEY)}, n, heard) "
            f"SELECT ?, CAST(FLOOR((a.created_at + {offset}) / 86400) AS INTEGER) AS day, "
            "w.programme, w.language, w.slot, w.partner, a.kind, a.number, "
            f"a.outcome, {HEARD_BAND} AS hb, {REPLAYED} AS replayed, COUNT(*), "
            "SUM(COALESCE(a.heard_share, 0)) FROM attempts a JOIN report_women w "
            f"ON w.subscriber_id = a.subscriber_id WHERE {ended} "
            "GROUP BY day, w.programme, w.language, w.slot, w.partner, a.kind, a.number, "
            "a.outcome, hb, replayed", (offset, lo, hi))
        await store.executemany("INSERT INTO report_days (utc_offset, day, rolled_at) "
                                "VALUES (?, ?, ?)",
                                [(offset, d, now) for d in range(first, last + 1)])
    return last - first + 1


async def roll_day(store: Store, offset: int, day: int, now: float) -> bool:
    """Roll one closed day up, in one transaction (roll_days)."""
    return await roll_days(store, offset, day, day, now) == 1


async def roll_up(store: Store, now: float, offset: int, *, most: int | None = None,
                  run: int = 1) -> int:
    """Rekey the women whose values changed, then roll the closed days not rolled yet (at
    most `most`), `run` days in one transaction (1: each day in its own; more: a catch-up,
    when nothing else writes). Returns the days rolled."""
    await rekey(store, now)
    done = 0
    days = (await closed_days(store, now, offset))[:most]
    while days:
        n = 1
        while n < min(run, len(days)) and days[n] == days[0] + n:
            n += 1
        done += await roll_days(store, offset, days[0], days[n - 1], now)
        days = days[n:]
    return done


async def changed_women(store: Store, ids: list[int] | None = None) -> list[dict]:
    """The women whose rolled calls are counted under values that are no longer hers: sid,
    old (her values in the rollup) and new (hers now), each a tuple in WOMAN's order."""
    mine = "" if ids is None else f" AND w.subscriber_id IN ({', '.join('?' * len(ids))})"
    rows = await store.fetchall(
        "SELECT w.subscriber_id, w.programme, w.language, w.slot, w.partner, "
        f"{HER} FROM report_women w JOIN subscribers s ON s.id = w.subscriber_id "
        "WHERE (w.programme != s.programme OR w.language != s.language OR w.slot != s.slot "
        f"OR w.partner != COALESCE(s.partner, '(none)')){mine}", tuple(ids or ()))
    return [{"sid": r[0], "old": tuple(r[1:5]), "new": tuple(r[5:9])} for r in rows]


async def rolled_calls_of(store: Store, ids: list[int], offset: int | None = None,
                          days: tuple[int, int] | None = None) -> list[dict]:
    """The ended calls of these women in rolled days (of `offset`, from days[0] to days[1]),
    counted by woman (sid), day and the dimensions of report_calls."""
    out: list[dict] = []
    cond, args = "", []
    if offset is not None:
        cond, args = " AND d.utc_offset = ?", [offset]
    if days is not None:
        cond += " AND d.day >= ? AND d.day <= ?"
        args += list(days)
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        out += map(dict, await store.fetchall(
            "SELECT a.subscriber_id AS sid, d.utc_offset AS utc_offset, d.day AS day, "
            f"a.kind AS kind, a.number AS number, a.outcome AS outcome, {HEARD_BAND} AS hb, "
            f"{REPLAYED} AS replayed, COUNT(*) AS n, SUM(COALESCE(a.heard_share, 0)) AS heard "
            "FROM attempts a JOIN report_days d ON a.created_at >= d.day * 86400 - d.utc_offset"
            " AND a.created_at < (d.day + 1) * 86400 - d.utc_offset "
            f"WHERE a.subscriber_id IN ({', '.join('?' * len(part))}) AND a.kind != 'test' "
            f"AND a.outcome IS NOT NULL{cond} GROUP BY sid, d.utc_offset, d.day, a.kind, "
            "a.number, a.outcome, hb, replayed", (*part, *args)))
    return out


async def rekey(store: Store, now: float, ids: list[int] | None = None) -> int:
    """Move the rolled calls of the women whose values changed (of `ids`, or every woman)
    to their new values, in one transaction. Returns how many women moved."""
    async with store.transaction():
        await lock(store, now)
        changed = {c["sid"]: c for c in await changed_women(store, ids)}
        if not changed:
            return 0
        match = " AND ".join(f"{k} = ?" for k in KEY)
        for r in await rolled_calls_of(store, list(changed)):
            c = changed[r["sid"]]
            dims = (r["kind"], r["number"], r["outcome"], r["hb"], r["replayed"])
            old = (r["utc_offset"], r["day"], *c["old"], *dims)
            await store.execute(f"UPDATE report_calls SET n = n - ?, heard = heard - ? "
                                f"WHERE {match}", (r["n"], r["heard"], *old))
            await store.execute(f"DELETE FROM report_calls WHERE {match} AND n = 0", old)
            await store.execute(
                f"INSERT INTO report_calls ({', '.join(KEY)}, n, heard) VALUES "
                f"({', '.join('?' * (len(KEY) + 2))}) ON CONFLICT ({', '.join(KEY)}) "
                "DO UPDATE SET n = report_calls.n + excluded.n, "
                "heard = report_calls.heard + excluded.heard",
                (r["utc_offset"], r["day"], *c["new"], *dims, r["n"], r["heard"]))
        for sid, c in changed.items():
            await store.execute(
                "UPDATE report_women SET programme = ?, language = ?, slot = ?, partner = ? "
                "WHERE subscriber_id = ?", (*c["new"], sid))
    return len(changed)


async def unroll_before(store: Store, cut: float) -> int:
    """In the caller's transaction (retention's purge): forget the rolled days that hold
    any instant before `cut`; they are rolled again from the rows left. Returns the days."""
    first_day = "day * 86400 - utc_offset < ?"
    await store.execute(f"DELETE FROM report_calls WHERE {first_day}", (cut,))
    return (await store.execute(f"DELETE FROM report_days WHERE {first_day}", (cut,))).rowcount


def hourly_due(chore: Any, now: datetime) -> bool:
    """The cadence of an hourly chore of `ivr run` (its `last` run and whether it is
    `behind`): every turn while behind, then once every EVERY. True: run it now (its `last`
    is now, and it is behind again only if the run says so)."""
    if not chore.behind and chore.last is not None and now - chore.last < EVERY:
        return False
    chore.last, chore.behind = now, False
    return True


@dataclass
class HourlyRollUp:
    """The rollup as a chore of `ivr run`: `await chore.run_if_due(store, now)` in the loop
    rekeys and rolls at most DAYS_PER_TURN closed days per zone of `zones` (the programmes'),
    every turn while days are left, then once an hour."""
    zones: tuple[str, ...]
    last: datetime | None = None
    behind: bool = True

    async def run_if_due(self, store: Store, now: datetime) -> int:
        if not hourly_due(self, now):
            return 0
        done = 0
        for tz in self.zones:
            offset = whole_offset((now.astimezone(zone(tz)).utcoffset()
                                   or timedelta(0)).total_seconds())
            if offset is None:
                continue
            rolled = await roll_up(store, now.timestamp(), offset, most=DAYS_PER_TURN)
            self.behind |= rolled == DAYS_PER_TURN
            done += rolled
        if done:
            log.info("report rollup: %d day(s) rolled up", done)
        return done
