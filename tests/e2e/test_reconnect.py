"""The AMI link drops while Asterisk keeps running (issue 12, item 3): calls in progress are
taken back once the controller has logged in again, not failed: her phone that was ringing
is answered and hears her message, the one already listening is followed to its end."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.service import Dialer
from scheduler.model import DeliveryStatus
from scheduler.programme import load_programme
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)
from tests.e2e.test_crash import wait_for

pytestmark = pytest.mark.sandbox


async def test_calls_survive_a_cut_ami_link(call_config, tmp_path):
    path = quick_programme(tmp_path, gaps={"failed": "1h", "no_answer": "1h"})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    config = replace(config, trunks=tuple(replace(t, ring_timeout=20) for t in config.trunks))
    programme = load_programme(path)
    async with running(config, agi_port=0) as service:
        store = service.store
        schedule = ScheduleStore(store, programme)
        now = datetime.now(timezone.utc)
        ringing = await schedule.enrol(woman_on("9190000907", now), now, actor="t")  # rings 7 s
        listening = await schedule.enrol(woman_on("919000011", now), now, actor="t")
        dialer = Dialer(service, schedule, config.run_trunks(("sim",)),
                        lease_seconds=programme.retry.lease.total_seconds())
        stop = asyncio.Event()
        loop = asyncio.create_task(dialer.run(stop))
        try:
            async def both_up():
                rows = await store.fetchall(
                    "SELECT subscriber_id, answered_at FROM attempts WHERE outcome IS NULL "
                    "AND started_at IS NOT NULL")
                state = {r[0]: r[1] for r in rows}
                return ringing.id in state and state.get(listening.id) is not None
            await wait_for(both_up, 20, "one call ringing, one answered")
            gateway = service.controller.ami
            gateway._manager.protocol.transport.abort()          # the TCP link is cut

            async def closed():
                assert not loop.done(), loop
                return not await store.fetchall("SELECT 1 FROM attempts WHERE outcome IS NULL")
            await wait_for(closed, 40, "both calls ended")
            assert gateway.reconnects == 1
        finally:
            stop.set()
            await asyncio.wait_for(loop, 30)
        rows = {r["subscriber_id"]: r for r in await store.fetchall(
            "SELECT subscriber_id, outcome, reason, heard_share, ended FROM attempts")}
        assert len(rows) == 2                         # nobody called twice
        for woman in (ringing, listening):
            row = rows[woman.id]
            assert row["outcome"] == "answered", dict(row)
            assert row["heard_share"] is not None and row["heard_share"] > 0.9, dict(row)
            d, *_ = await schedule.deliveries_of(woman.id)
            assert d.status is DeliveryStatus.DELIVERED
        # the ringing call's outcome came from Asterisk itself (its OriginateResponse event
        # after the reconnect), not guessed
        assert rows[ringing.id]["reason"] == 4


async def test_the_link_is_up_only_once_the_dialplan_is_loaded(call_config):
    """AMI takes logins while Asterisk still boots, before its dialplan is loaded: the
    gateway counts the link up only once the calls' context exists."""
    from ivr.adapters.ami import AmiError, AmiGateway
    from ivr import constants as C

    ami = replace(call_config.ami, connect_timeout=1.0)
    loaded = AmiGateway(ami, lambda event: None, ready_context=C.CONTEXT_OUTBOUND)
    await loaded.connect()
    try:
        assert loaded.connected
    finally:
        await loaded.close()
    missing = AmiGateway(ami, lambda event: None, ready_context="no-such-context")
    with pytest.raises(AmiError, match=r"has no \[no-such-context\]"):
        await missing.connect()
    await missing.close()
    assert not missing.connected
