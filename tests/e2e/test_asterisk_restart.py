"""Asterisk restarts in the middle of a campaign (stopped and started, or its own
`core restart now`): the service reconnects by itself and carries on; the calls the restart
dropped are recorded and retried by the policy."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.config import load_config
from ivr.service import Dialer
from scheduler.model import DeliveryStatus
from scheduler.programme import load_programme
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on

pytestmark = pytest.mark.sandbox


async def until(predicate, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.2)


@pytest.mark.parametrize("how", ["stop-start", "core restart now"])
async def test_service_survives_an_asterisk_restart(test_sounds, tmp_path, private_box, how):
    box, home = private_box, private_box.home
    path = quick_programme(tmp_path, gaps={"failed": "1s", "no_answer": "1s"})
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    programme = load_programme(path)
    cfg = load_config(home / "ivr.toml", env={"IVR_HOME": str(home)})
    cfg = replace(cfg, database=tmp_path / "ivr.db", sounds=test_sounds, programme=str(path),
                  trunks=tuple(replace(t, ring_timeout=20) for t in cfg.trunks))
    cfg = replace(cfg, ami=replace(cfg.ami, ping_interval=1.0))
    async with running(cfg, agi_port=0) as service:
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        ringing = await schedule.enrol(woman_on("919000041", now), now, actor="t")
        later = await schedule.enrol(woman_on("919000012", now), now, actor="t")
        # her message falls due only after the restart
        await service.store.execute(
            "UPDATE deliveries SET next_attempt_at = next_attempt_at + 86400 "
            "WHERE subscriber_id = ?", (later.id,))
        dialer = Dialer(service, schedule, [cfg.trunk("sim")],
                        lease_seconds=programme.retry.lease.total_seconds())
        stop = asyncio.Event()
        loop = asyncio.create_task(dialer.run(stop))

        async def ringing_now():
            return bool(await service.store.fetchall(
                "SELECT 1 FROM attempts WHERE subscriber_id = ? AND outcome IS NULL "
                "AND started_at IS NOT NULL", (ringing.id,)))
        await until(ringing_now, 20)
        if how == "stop-start":
            box.stop()
            box.start()                            # a restarted Asterisk: calls are gone
        else:
            box.restart()                          # Asterisk re-executes itself, same pid

        async def reconnected():
            return service.controller.ami.connected and service.controller.ami.reconnects
        await until(reconnected, 40)
        await service.store.execute(
            "UPDATE deliveries SET next_attempt_at = ? WHERE subscriber_id = ?",
            ((datetime.now(timezone.utc) - timedelta(seconds=1)).timestamp(), later.id))
        dialer.wake.set()

        async def later_answered():
            rows = await service.store.fetchall(
                "SELECT outcome FROM attempts WHERE subscriber_id = ?", (later.id,))
            return [r[0] for r in rows] == ["answered"]
        await until(later_answered, 60)
        rows = await service.store.fetchall(
            "SELECT number, outcome FROM attempts WHERE subscriber_id = ? ORDER BY number",
            (ringing.id,))
        stop.set()
        await asyncio.wait_for(loop, 60)
        [d] = await schedule.deliveries_of(ringing.id)
    # the call the restart dropped: recorded as failed, then retried by the policy
    assert rows[0]["outcome"] == "failed" and len(rows) >= 2, [tuple(r) for r in rows]
    assert d.attempts >= 2 and d.status is DeliveryStatus.PENDING
