"""Asterisk refuses calls while it shuts down (`core stop gracefully` waits for the calls up):
a call it refused never rang, so it costs the woman none of her attempts and no trunk rests
(drill finding: during a restart 11 calls were refused and each was counted as an attempt)."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.config import load_config
from ivr.service import Dialer
from scheduler.programme import load_programme
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on
from tests.e2e.test_asterisk_restart import until

pytestmark = pytest.mark.sandbox


async def test_a_call_asterisk_refuses_costs_her_no_attempt(test_sounds, tmp_path, private_box):
    box, home = private_box, private_box.home
    path = quick_programme(tmp_path, gaps={"failed": "1h"})
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    programme = load_programme(path)
    cfg = load_config(home / "ivr.toml", env={"IVR_HOME": str(home)})
    cfg = replace(cfg, database=tmp_path / "ivr.db", sounds=test_sounds, programme=str(path),
                  trunks=tuple(replace(t, rest_after=2) for t in cfg.trunks))
    async with running(cfg, agi_port=0) as service:
        store = service.store
        schedule = ScheduleStore(store, programme)
        now = datetime.now(timezone.utc)
        talking = await schedule.enrol(woman_on("919000081", now), now, actor="t")
        later = [await schedule.enrol(woman_on(f"91900001{i}", now), now, actor="t")
                 for i in range(3)]
        for w in later:                      # due only once Asterisk is shutting down
            await store.execute("UPDATE deliveries SET next_attempt_at = next_attempt_at "
                                "+ 86400 WHERE subscriber_id = ?", (w.id,))
        dialer = Dialer(service, schedule, [cfg.trunk("sim")],
                        lease_seconds=programme.retry.lease.total_seconds())
        stop = asyncio.Event()
        loop = asyncio.create_task(dialer.run(stop))
        try:
            async def answered():
                return bool(await store.fetchall(
                    "SELECT 1 FROM attempts WHERE subscriber_id = ? AND answered_at "
                    "IS NOT NULL", (talking.id,)))
            await until(answered, 20)
            # waits for her call, refusing new ones (the CLI returns when it stops)
            stopping = asyncio.create_task(
                asyncio.to_thread(box.cli, "core stop gracefully", 60))
            await asyncio.sleep(0.5)   # for the CLI to reach it: no AMI event says it began
            await store.execute("UPDATE deliveries SET next_attempt_at = ? WHERE "
                                "subscriber_id IN (?, ?, ?)",
                                (now.timestamp(), *(w.id for w in later)))
            dialer.wake.set()

            async def refused():
                assert not loop.done(), loop
                return dialer.stats.not_placed >= 3
            await until(refused, 20)
            rows = await store.fetchall(
                "SELECT attempts FROM deliveries WHERE subscriber_id IN (?, ?, ?) "
                "AND status = 'pending'", tuple(w.id for w in later))
            assert [r[0] for r in rows] == [0, 0, 0]       # no attempt counted
            assert dialer.status()["trunks"]["sim"]["resting_until"] is None
            box.cli("core abort shutdown")
            await asyncio.gather(stopping, return_exceptions=True)

            async def all_answered():
                rows = await store.fetchall(
                    "SELECT number, outcome FROM attempts WHERE subscriber_id "
                    "IN (?, ?, ?)", tuple(w.id for w in later))
                return [tuple(r) for r in rows] == [(1, "answered")] * 3
            await until(all_answered, 40)         # each called once: her attempt 1
        finally:
            stop.set()
            box.cli("channel request hangup all")
            await asyncio.wait_for(loop, 30)
