"""The AMI link drops while calls ring and talk (the fake Asterisk keeps them going): once
the gateway has logged in again, each call is taken back and its outcome recorded once; no
call is placed twice."""
from __future__ import annotations

import asyncio

import pytest

from ivr.app import running
from ivr.service import Dialer
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of, until
from tests.fakes.ami_peer import BUSY, Fate

RINGING, TALKING, BUSY_LATER = "919000011", "919000081", "919000031"


async def test_reconnect_takes_back_ringing_and_talking_calls(peer, tmp_path, sounds):
    peer._fates = {TALKING: Fate(agi=False), BUSY_LATER: BUSY}
    ringing = peer.ring_until(RINGING)          # answers (and listens) only after the cut
    busy = peer.ring_until(BUSY_LATER)          # busy, said only after the cut
    peer.hold_calls()                           # the answered call stays up
    config = config_for(peer, tmp_path, sounds, ring_timeout=20.0)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        women = await enrol(schedule, [RINGING, TALKING, BUSY_LATER])
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        loop = asyncio.create_task(dialer.run(asyncio.Event(), until_idle=True,
                                              drain_seconds=2.0))
        try:
            async def talking():
                # answered, as the controller knows it (without FastAGI her answer is not
                # written: the in-call route never had her call)
                rows = await attempts(service.store)
                call = service.controller.live.get(rows.get(women[TALKING], {}).get("id", -1))
                return len(peer.originates) == 3 and call is not None and \
                    call.tracker.state == "answered"
            await until(talking)
            listed = peer.actions["coreshowchannels"]
            peer.drop()                                      # the TCP link is cut
            # logged in again, and both calls asked for by their channels
            await peer.wait_for(lambda: peer.logins == 2
                                and peer.actions["coreshowchannels"] >= listed + 3)
            ringing.set()
            busy.set()
            peer.release_calls()
            await asyncio.wait_for(loop, 20)
        finally:
            if not loop.done():
                loop.cancel()
                await asyncio.gather(loop, return_exceptions=True)
        rows = await attempts(service.store)              # one row each: nobody called twice
        assert peer.actions["originate"] == 3
        assert service.controller.ami.reconnects == 1
    answered = rows[women[RINGING]]
    assert (answered["outcome"], answered["reason"]) == ("answered", 4)
    assert answered["heard_share"] == pytest.approx(1.0)     # FastAGI after the reconnect
    talked = rows[women[TALKING]]
    assert (talked["outcome"], talked["reason"]) == ("answered", 4)
    lost = rows[women[BUSY_LATER]]
    # its OriginateResponse came on the new link (Asterisk sends it to every session)
    assert (lost["outcome"], lost["reason"], lost["cause"]) == ("busy", 5, 17)
    for row in rows.values():
        assert row["acquired_by"] is None and row["ended_at"] is not None
