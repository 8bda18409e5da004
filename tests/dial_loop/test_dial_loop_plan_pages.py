"""A big day's plan (millions of women at midnight, a big import) goes a page a turn of
`ivr run`'s loop, between the calls: calls due are placed while plans are still due, and
every plan is done in the end. On the fake Asterisk and the real SQLite store."""
from __future__ import annotations

import asyncio
import time

from ivr.app import running
from ivr.service import Dialer
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of

PHONES = [f"9190001{i:02d}" for i in range(12)]


async def test_the_day_plan_goes_a_page_a_turn_between_the_calls(peer, tmp_path, sounds):
    config = config_for(peer, tmp_path, sounds)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        ids = await enrol(schedule, PHONES)
        # every woman's plan falls due now (as at her day's midnight): 12 plans to run
        await service.store.execute("UPDATE subscribers SET plan_at = ?", (time.time() - 1,))
        plans_left_at_claims: list[int] = []
        claim = schedule.claim

        async def counting_claim(now, owner, limit):
            left = await service.store.fetchall(
                "SELECT COUNT(*) FROM subscribers WHERE plan_at <= ?", (now.timestamp(),))
            plans_left_at_claims.append(left[0][0])
            return await claim(now, owner, limit)
        schedule.claim = counting_claim                     # type: ignore[method-assign]
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        dialer.loop.plan_per_turn = 5
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 30)
        rows = await attempts(service.store)
        left = await service.store.fetchall(
            "SELECT COUNT(*) FROM subscribers WHERE plan_at <= ?", (time.time(),))
    # the first claim came after one page (5 plans), not after all 12
    assert plans_left_at_claims[0] == len(PHONES) - 5
    assert plans_left_at_claims[:3] == [7, 2, 0]
    assert left[0][0] == 0                              # every plan done in the end
    assert {rows[i]["outcome"] for i in ids.values()} == {"answered"}   # each called once
