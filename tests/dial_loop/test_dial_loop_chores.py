"""A chore of `ivr run`'s turn that fails (the report's rollup, the absence sweep,
retention) is logged and the calls go on: on the fake Asterisk and the real SQLite store."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest

from ivr.adapters.report_rollup import HourlyRollUp
from ivr.adapters.retention import DailyPurge
from ivr.absence import AbsenceSweep
from ivr.adapters.store import NewAttempt, StoreError
from ivr.app import running
from ivr.service import Dialer
from scheduler.outcome import Outcome
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of

PHONE = "919000091"


@pytest.mark.parametrize("chore", [HourlyRollUp, AbsenceSweep, DailyPurge])
async def test_a_failing_chore_is_logged_and_her_call_is_placed(peer, tmp_path, sounds, caplog,
                                                                 monkeypatch, chore):
    turns = []

    async def broken(self, *args):
        turns.append(1)
        raise RuntimeError("a bug in the chore")
    monkeypatch.setattr(chore, "run_if_due", broken)
    caplog.set_level(logging.ERROR, logger="ivr.dial_loop")
    config = config_for(peer, tmp_path, sounds)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        sub = (await enrol(schedule, [PHONE]))[PHONE]
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 30)
        row = (await attempts(service.store))[sub]
    assert row["outcome"] == "answered"                 # her call placed and ended
    assert turns                                        # the chore ran, and failed
    failed = [r for r in caplog.records if "failed, the calls go on" in r.getMessage()]
    assert len(failed) == 1                             # once, however many turns
    assert "a bug in the chore" in failed[0].getMessage()


async def test_the_database_away_in_a_chore_still_stops_the_turn(peer, tmp_path, sounds,
                                                                  monkeypatch):
    """The database away is not the chore's own failure: the turn stops (the loop's back-off,
    as for every other statement of the turn), and no call is placed meanwhile."""
    async def away(self, *args):
        raise StoreError("the database does not answer")
    monkeypatch.setattr(HourlyRollUp, "run_if_due", away)
    config = config_for(peer, tmp_path, sounds)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        await enrol(schedule, [PHONE])
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        stop = asyncio.Event()
        task = asyncio.create_task(dialer.run(stop))
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(task, 30)
        assert await attempts(service.store) == {}
        assert dialer.loop.stats.loop_errors >= 1


async def test_retention_goes_a_page_a_turn_and_the_rollup_waits_for_it(peer, tmp_path, sounds,
                                                                        monkeypatch):
    """A first purge of many old calls goes a page a turn (her call is placed meanwhile);
    the report's rollup does not run while pages are left (it would roll again the days
    each page cuts into), and runs once the purge is done."""
    seen = []
    rollup = HourlyRollUp.run_if_due

    async def watched(self, store, now):
        seen.append(dialer.loop.retention.behind)
        return await rollup(self, store, now)
    monkeypatch.setattr(HourlyRollUp, "run_if_due", watched)
    config = config_for(peer, tmp_path, sounds)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        sub = (await enrol(schedule, [PHONE]))[PHONE]
        old = time.time() - 500 * 86400
        for i in range(5):                                  # 5 old ended calls
            a = await service.store.create_attempt(NewAttempt(PHONE, "hi", "mmitra-p001"),
                                                   old + i)
            await service.store.attempt_ended(a, at=old + i + 9, outcome=Outcome.NO_ANSWER)
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        dialer.loop.retention = DailyPurge(timedelta(days=400), page=2)
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 30)
        rows = await service.store.fetchall("SELECT created_at, outcome FROM attempts")
        pages = await service.store.fetchall(
            "SELECT COUNT(*) FROM audit WHERE action = 'purge_call_records'")
    assert [r["outcome"] for r in rows] == ["answered"]     # the old ones gone, hers placed
    assert rows[0]["created_at"] > old + 86400
    assert pages[0][0] == 3                                 # 2 + 2 + 1
    assert seen and True not in seen                        # never while pages were left
    assert sub
