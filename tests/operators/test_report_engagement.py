"""`ivr report`'s at-risk list from the summary per woman (ivr/adapters/report_engagement.py)
is the list reduced over every call (reports.at_risk_women), on SQLite and PostgreSQL: the
same women, runs, unanswered weeks and last answers on random histories (live calls, test
calls, calls ending late or never, two programmes) folded a few days a step and at several
instants; and the whole report, byte for byte, over a generated history with a live call
that ends later, an erased woman, the retention rule's purge, two programmes of two
different shares, and `ivr run`'s chore."""
from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from ivr.adapters import report_engagement, reports
from ivr.adapters.erasure import erase_woman
from ivr.adapters.retention import purge_call_records
from ivr.adapters.store import Store, in_rolled_back_transaction
from ivr.operators.report import ReportRequest, build_report
from scheduler.policy import AtRiskRule
from scheduler.programme import load_programme
from tests.operators.test_at_risk_women_sql import END, RULES, fill as fill_random
from tests.operators.test_report_rollup import NOW, fill as fill_generated

DAY = 86400
STEP = 5.0                               # each wait on the database


async def by_every_call(store: Store, rule: AtRiskRule, now: float,
                        only: str | None) -> dict[int, tuple]:
    args = {"low_share": rule.low_listening_share,
            "unanswered_since": now - rule.unanswered_weeks * 7 * DAY,
            "low_calls": rule.low_listening_calls, "programme": only}
    rows = {r["subscriber_id"]: (r["low_run"], r["since"])
            for r in await reports.at_risk_women(store, **args)}   # type: ignore[arg-type]
    last = {r["id"]: r["last_answered"]
            for r in await reports.women_with_last_answer(store, None, list(rows))}
    return {sid: (*v, last[sid]) for sid, v in rows.items()}


async def by_summary(store: Store, rule: AtRiskRule, now: float,
                     only: str | None) -> dict[int, tuple]:
    rows = await report_engagement.at_risk_women(
        store, low_share=rule.low_listening_share,
        unanswered_since=now - rule.unanswered_weeks * 7 * DAY,
        low_calls=rule.low_listening_calls, programme=only)
    assert rows is not None
    return {r["subscriber_id"]: (r["low_run"], r["since"], r["last_answered"]) for r in rows}


async def funnels_agree(store: Store, where: tuple) -> int:
    """The funnel from the summary is reports.funnel's, by nothing and by language, for
    every woman and each programme's, over every enrolment and a range of them."""
    compared = 0
    for by in (None, "language"):
        for lo, hi in ((None, None), (END - 80 * DAY, END - 65 * DAY)):
            for only in (None, "mmitra", "pesinet"):
                got = await report_engagement.funnel(store, by, lo, hi, only)
                assert got is not None
                want = sorted(map(tuple, await reports.funnel(store, by, lo, hi, only)))
                assert sorted(map(tuple, got)) == want, (*where, by, lo, only)
                compared += sum(r[3] for r in want)
    return compared


async def purged_agree(store: Store, rnd: random.Random, now: float) -> int:
    """Retention's purge (pages of a few calls) folds again the rows of the women whose
    calls it deleted: the summary still gives the women of every call, and the funnel."""
    cut = END - rnd.uniform(20, 60) * DAY
    before = (await store.fetchall("SELECT COUNT(*) FROM attempts"))[0][0]
    await purge_call_records(store, datetime.fromtimestamp(cut, timezone.utc),
                             now=datetime.fromtimestamp(now, timezone.utc), page=97)
    assert (await store.fetchall("SELECT COUNT(*) FROM attempts"))[0][0] < before
    compared = await funnels_agree(store, ("purged", cut))
    for rule in RULES:
        assert await report_engagement.upto(store, rule.low_listening_share) is not None
        for only in (None, "mmitra", "pesinet"):
            want = await by_every_call(store, rule, now, only)
            assert await by_summary(store, rule, now, only) == want, (cut, rule, only)
            compared += len(want)
    return compared


async def agree(address, seed: int) -> int:
    rnd = random.Random(seed)
    store = await Store.open(address)
    compared = 0
    try:
        await report_engagement.forget(store)     # the seed before's
        await fill_random(store, rnd)
        await store.execute(            # some calls never started (the funnel's first attempt)
            "UPDATE attempts SET started_at = created_at + 1 WHERE id % 3 != 0")
        for folded_at in (END - 50 * DAY, END - 20 * DAY, END + 30 * DAY, None):
            if folded_at is None:           # the live calls end: the fold goes past them
                await store.execute("UPDATE attempts SET outcome = 'busy', ended_at = "
                                    "created_at + 30 WHERE outcome IS NULL")
                folded_at = END + 60 * DAY
            for rule in RULES:
                await asyncio.wait_for(report_engagement.fold_all(
                    store, rule.low_listening_share, folded_at, step=rnd.choice(
                        [0.5 * DAY, 3 * DAY, 40 * DAY])), STEP * 8)
                for days in (-30, 0, 17, 70):
                    now = END + days * DAY + rnd.random() * DAY
                    for only in (None, "mmitra", "pesinet"):
                        want = await by_every_call(store, rule, now, only)
                        assert await by_summary(store, rule, now, only) == want, (
                            seed, folded_at, rule, days, only)
                        compared += len(want)
                compared += await funnels_agree(store, (seed, folded_at, rule))
        upto = [r[0] for r in await store.fetchall("SELECT upto FROM report_engagement_upto")]
        assert len(upto) == len(RULES) and min(upto) > END      # folded past the live calls
        compared += await purged_agree(store, rnd, END + 20 * DAY)
    finally:
        await store.close()
    return compared


def test_the_summary_gives_the_women_of_every_call(database):
    compared = [asyncio.run(agree(database.address, seed)) for seed in range(3)]
    assert all(n > 0 for n in compared), compared


PESINET = replace(load_programme("pesinet"), at_risk=AtRiskRule(
    unanswered_weeks=1, low_listening_calls=2, low_listening_share=0.6))
INSTALLS = ([load_programme("mmitra")], [load_programme("mmitra"), PESINET])
REQUESTS = (ReportRequest(), ReportRequest(by="slot"),
            ReportRequest(by="partner", programme="mmitra"), ReportRequest(reveal=True),
            ReportRequest(first=(NOW - timedelta(days=80)).date(),
                          last=(NOW - timedelta(days=70)).date(), by="language"))


async def _raw(store: Store, programmes, req: ReportRequest) -> dict:
    await report_engagement.forget(store)
    return await build_report(store, programmes, req, NOW)


async def assert_as_raw(store: Store) -> int:
    """Every request's report, read with the summary, is the one without it. Returns the
    women at risk in the last."""
    for programmes in INSTALLS:
        for req in REQUESTS:
            got = await asyncio.wait_for(build_report(store, programmes, req, NOW), STEP * 4)
            raw = await asyncio.wait_for(
                in_rolled_back_transaction(store, _raw(store, programmes, req)), STEP * 4)
            assert json.dumps(got) == json.dumps(raw), req
    assert await report_engagement.upto(store, 0.25) is not None
    return len(got["at_risk"])


async def test_report_from_the_summary_is_the_report_of_every_call(database):
    database.home.mkdir(parents=True, exist_ok=True)
    store = await Store.open(database.address, key_file=database.key_file)
    try:
        await fill_generated(store)                 # woman 1's call live, 20 days ago
        await store.execute("UPDATE subscribers SET programme = 'pesinet' WHERE id % 5 = 0")
        chore = report_engagement.HourlyFold(report_engagement.shares(
            p.at_risk for p in INSTALLS[1]))
        turns = 0
        while await asyncio.wait_for(chore.run_if_due(store, NOW), STEP * 4) and chore.behind:
            turns += 1
        assert turns >= 2
        assert await chore.run_if_due(store, NOW + timedelta(minutes=59)) == 0
        assert await assert_as_raw(store) > 10

        # the live call ends: folded at the next hour's turn
        await store.execute("UPDATE attempts SET outcome = 'no_answer', ended_at = "
                            "created_at + 40 WHERE outcome IS NULL")
        await assert_as_raw(store)
        later = NOW + timedelta(minutes=61)
        while await chore.run_if_due(store, later) and chore.behind:
            pass
        assert await report_engagement.upto(store, 0.25) == later.timestamp() - 6 * 3600
        await assert_as_raw(store)

        # erased: her rows forget her listening; her calls still count in the funnel
        await store.execute("UPDATE subscribers SET status = 'opted_out', status_reason = "
                            "'by_user' WHERE id = 3")
        assert await store.fetchall("SELECT 1 FROM report_engagement WHERE subscriber_id = 3 "
                                    "AND last_answered IS NOT NULL")
        await erase_woman(store, 3, NOW, actor="test")
        assert [tuple(r) for r in await store.fetchall(
            "SELECT low_run, since, last_answered, tried FROM report_engagement "
            "WHERE subscriber_id = 3")] == [(0, None, None, 1)] * 2
        await assert_as_raw(store)

        # retention: each page folds again its women's rows, from their calls left
        cut = END - 60 * DAY
        folded = await store.fetchall("SELECT * FROM report_engagement_upto ORDER BY id")
        done = await purge_call_records(store, datetime.fromtimestamp(cut, timezone.utc),
                                        now=NOW, page=300)
        assert done["calls"] > 600                                  # several pages
        assert await store.fetchall("SELECT * FROM report_engagement_upto ORDER BY id") == \
            folded
        assert await assert_as_raw(store) > 10
    finally:
        await store.close()
