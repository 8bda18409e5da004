"""`ivr report` over the daily counts (ivr/adapters/report_rollup.py, report_calls.py) is the
report of the call rows alone, byte for byte, on SQLite and PostgreSQL: over a generated
history (bench/report_bench.py's rows) with a day held open by a live call that closes later,
a test call, a woman who changes slot, language and partner, an erased woman, the retention
rule's purge, and two writers rolling the same days at once."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from bench.report_bench import TABLES, fake_rows
from ivr.adapters import report_rollup
from ivr.adapters.erasure import erase_woman
from ivr.adapters.report_calls import spans
from ivr.adapters.retention import purge_call_records
from ivr.adapters.store import Store, in_rolled_back_transaction
from ivr.operators.report import ReportRequest, build_report
from scheduler.programme import load_programme

DAY = 86400
END = 1796000000.0                       # the generated calls end here
NOW = datetime.fromtimestamp(END + 2 * DAY, timezone.utc)
KOLKATA = 19800
OPEN_AT = END - 20 * DAY + 3600          # the live call: its day stays open
REQUESTS = (ReportRequest(), ReportRequest(by="language"), ReportRequest(by="slot"),
            ReportRequest(by="partner", programme="mmitra"),
            ReportRequest(first=date(2026, 10, 1), last=date(2026, 11, 10), by="slot"))
STEP = 5.0                               # each wait on the database


def test_spans_cut_the_range_into_rolled_days_and_the_rest():
    # days 10, 11 and 13 rolled (offset 0); [10.5 days, 14 days): 11 whole, 13 whole
    days, rest = spans(10.5 * DAY, 14 * DAY, 0, [10, 11, 13])
    assert days == (11, 13)
    assert rest == [(10.5 * DAY, 11 * DAY), (12 * DAY, 13 * DAY)]
    assert spans(None, None, 0, []) == (None, [(None, None)])
    assert spans(None, None, 3600, [5]) == ((5, 5), [(None, 5 * DAY - 3600),
                                                     (6 * DAY - 3600, None)])


async def _raw(store: Store, programme, req: ReportRequest) -> dict:
    await store.execute("DELETE FROM report_calls")
    await store.execute("DELETE FROM report_days")
    return await build_report(store, programme, req, NOW)


async def assert_as_raw(store: Store) -> None:
    """Every request's report, read with the rollup, is the one without it."""
    programme = [load_programme("mmitra")]           # build_report takes the installation's
    for req in REQUESTS:
        got = await asyncio.wait_for(build_report(store, programme, req, NOW), STEP * 4)
        raw = await asyncio.wait_for(
            in_rolled_back_transaction(store, _raw(store, programme, req)), STEP * 4)
        assert json.dumps(got) == json.dumps(raw), req
        assert sum(r["calls"] for r in got["pickup_by_slot"]) > 0


async def rolled(store: Store) -> tuple[int, int]:
    days, calls = (await store.fetchall(
        "SELECT (SELECT COUNT(*) FROM report_days), "
        "(SELECT COALESCE(SUM(n), 0) FROM report_calls)"))[0]
    return days, calls


async def fill(store: Store) -> None:
    for rows in fake_rows(300, 6000, end=END):
        for (table, columns), values in zip(TABLES, rows, strict=True):
            await store.insert_rows(table, columns, values)
    last = (await store.fetchall("SELECT MAX(id) FROM attempts"))[0][0]
    await store.execute(               # woman 1's live call, and woman 4's test call
        "INSERT INTO attempts (id, subscriber_id, number, kind, phone, language, message_key, "
        "created_at, outcome, heard_share) VALUES (?, 1, 1, 'scheduled', '919000000001', 'hi', "
        "'m', ?, NULL, NULL), (?, 4, 1, 'test', '919000000004', 'hi', 'm', ?, 'answered', 0.9)",
        (last + 1, OPEN_AT, last + 2, OPEN_AT))


async def test_report_from_the_rollup_is_the_raw_report(database):
    database.home.mkdir(parents=True, exist_ok=True)
    store = await Store.open(database.address, key_file=database.key_file)
    try:
        await fill(store)
        now = NOW.timestamp()
        total = (await store.fetchall("SELECT COUNT(*) FROM attempts WHERE outcome IS NOT "
                                      "NULL AND kind != 'test'"))[0][0]
        assert await report_rollup.roll_up(store, now, KOLKATA, run=40) >= 85   # by scans
        days, calls = await rolled(store)
        assert report_rollup.day_of(OPEN_AT, KOLKATA) not in await report_rollup.closed_days(
            store, now + 100 * DAY, KOLKATA)     # still open (live), never rolled
        assert 0 < calls < total                 # the open day and today's calls: raw
        assert await report_rollup.roll_up(store, now, KOLKATA) == 0      # idempotent
        assert await rolled(store) == (days, calls)
        await assert_as_raw(store)

        # she moves: read as moved at once, then rekeyed
        await store.execute("UPDATE subscribers SET slot = '18-21', language = 'en', "
                            "partner = NULL WHERE id = 2")
        await store.execute("UPDATE subscribers SET slot = '09-12', language = 'hi', "
                            "partner = 'NGO New' WHERE id = 5")
        assert len(await report_rollup.changed_women(store)) == 2
        await assert_as_raw(store)
        assert await report_rollup.rekey(store, now) == 2
        assert await report_rollup.changed_women(store) == []
        assert await rolled(store) == (days, calls)
        await assert_as_raw(store)

        # the live call ends: its day is rolled at the next turn
        await store.execute("UPDATE attempts SET outcome = 'answered', heard_share = 0.8, "
                            "ended_at = ? WHERE outcome IS NULL", (OPEN_AT + 60,))
        await assert_as_raw(store)
        assert await report_rollup.roll_up(store, now, KOLKATA) == 1
        assert (await rolled(store))[0] == days + 1
        await assert_as_raw(store)

        # erased: her calls stay, under no partner
        await store.execute("UPDATE subscribers SET status = 'opted_out', status_reason = "
                            "'by_user', partner = 'KEM Hospital' WHERE id = 3")
        await erase_woman(store, 3, NOW, actor="test")
        assert await report_rollup.changed_women(store) == []
        await assert_as_raw(store)

        # retention: the days the cut-off reaches go, and are rolled again from what is left
        cut = END - 60 * DAY + 5 * 3600
        before = (await rolled(store))[0]
        first_day = (await store.fetchall("SELECT MIN(day) FROM report_days"))[0][0]
        await purge_call_records(store, datetime.fromtimestamp(cut, timezone.utc), now=NOW)
        assert (await rolled(store))[0] < before
        await assert_as_raw(store)
        assert await report_rollup.roll_up(store, now, KOLKATA) >= 1
        first = (await store.fetchall("SELECT MIN(created_at) FROM attempts"))[0][0]
        assert [r[0] for r in await store.fetchall(
            "SELECT MIN(day) FROM report_days")] == [report_rollup.day_of(first, KOLKATA)]
        assert report_rollup.day_of(first, KOLKATA) == report_rollup.day_of(cut, KOLKATA)
        assert (await rolled(store))[0] == before - (report_rollup.day_of(cut, KOLKATA) - first_day)
        await assert_as_raw(store)
    finally:
        await store.close()


async def test_two_writers_roll_the_same_days_once(database):
    database.home.mkdir(parents=True, exist_ok=True)
    one = await Store.open(database.address, key_file=database.key_file)
    two = await Store.open(database.address, key_file=database.key_file)
    try:
        await fill(one)
        await one.execute("UPDATE attempts SET outcome = 'busy' WHERE outcome IS NULL")
        now = NOW.timestamp()
        days = await asyncio.wait_for(asyncio.gather(
            report_rollup.roll_up(one, now, KOLKATA), report_rollup.roll_up(two, now, KOLKATA),
            report_rollup.roll_up(two, now + 1, KOLKATA, run=10)), STEP * 12)
        n, calls = await rolled(one)
        assert sum(days) == n >= 85
        expected = (await one.fetchall(
            "SELECT COUNT(*) FROM attempts WHERE kind != 'test' AND outcome IS NOT NULL "
            "AND created_at < ?", (report_rollup.day_bounds(KOLKATA, report_rollup.day_of(
                now - report_rollup.GRACE, KOLKATA))[0],)))[0][0]
        assert calls == expected
        await assert_as_raw(one)
    finally:
        await one.close()
        await two.close()


@pytest.mark.parametrize("offset", [KOLKATA, 0])
def test_a_day_is_closed_grace_after_its_end(offset):
    day = report_rollup.day_of(END, offset)
    start, end = report_rollup.day_bounds(offset, day)
    assert start <= END < end and end - start == DAY
    with pytest.raises(ValueError):
        asyncio.run(report_rollup.roll_day(None, offset, day, end + 60))   # type: ignore[arg-type]


async def test_ivr_runs_chore_rolls_two_days_a_turn_then_hourly(database):
    database.home.mkdir(parents=True, exist_ok=True)
    store = await Store.open(database.address, key_file=database.key_file)
    try:
        await fill(store)
        chore = report_rollup.HourlyRollUp(("Asia/Kolkata",))
        late = NOW + timedelta(days=1)                 # every generated day closed but one
        turns = []
        while (n := await asyncio.wait_for(chore.run_if_due(store, late), STEP * 4)):
            turns.append(n)
        assert set(turns) == {report_rollup.DAYS_PER_TURN} or turns[-1] < turns[0]
        assert sum(turns) == (await rolled(store))[0] >= 85
        assert await chore.run_if_due(store, late + timedelta(minutes=59)) == 0
        await store.execute("UPDATE attempts SET outcome = 'busy' WHERE outcome IS NULL")
        assert await chore.run_if_due(store, late + timedelta(minutes=61)) == 1
        await assert_as_raw(store)
    finally:
        await store.close()
