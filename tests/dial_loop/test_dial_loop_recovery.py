"""Recovery on the fake Asterisk: the live attempts a dead process left (one still ringing,
one answered and served by the in-call route, one answered that the route never had) are
closed when the next dial loop starts, and their orphaned channels hung up (they would reach
a controller that no longer knows them); nobody is called twice."""
from __future__ import annotations

import asyncio

from ivr.app import running
from ivr.service import Dialer
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of, until
from tests.e2e.test_recovery import dead_owner
from tests.fakes.ami_peer import Fate

RINGING, TALKING, UNSERVED = "919000041", "919000081", "919000082"


async def test_recovery_closes_a_dead_owners_calls_at_start(peer, tmp_path, sounds):
    peer._fates = {UNSERVED: Fate(agi=False)}        # answered, FastAGI never runs
    peer.ring_until(RINGING)                    # rings on until hung up
    peer.hold_calls()                           # the answered call stays up
    config = config_for(peer, tmp_path, sounds, ring_timeout=60.0)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        women = await enrol(schedule, [RINGING, TALKING, UNSERVED])
        # a first service, under an owner id whose process is gone, places both calls...
        crashed = Dialer(service, schedule, config.run_trunks(), owner=dead_owner(),
                         lease_seconds=lease(service))
        stop = asyncio.Event()
        loop = asyncio.create_task(crashed.run(stop, drain_seconds=0.1))

        async def both_up():
            rows = await attempts(service.store)
            unserved = service.controller.live.get(rows.get(women[UNSERVED], {}).get("id", -1))
            return len(peer.originates) == 3 and bool(
                rows.get(women[TALKING], {}).get("answered_at")) and unserved is not None \
                and unserved.tracker.state == "answered"
        await until(both_up)
        stop.set()                      # ... and stops past its drain deadline: calls left up
        await asyncio.wait_for(loop, 10)
        left = await attempts(service.store)
        assert [r["outcome"] for r in left.values()] == [None, None, None]
        assert left[women[UNSERVED]]["answered_at"] is None     # the route never had her
        assert peer.live() == 3 and peer.actions["hangup"] == 0
        # the next start closes them
        fresh = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        await asyncio.wait_for(fresh.run(asyncio.Event(), until_idle=True), 20)
        rows = await attempts(service.store)
        assert fresh.stats.stale_closed == 3
    assert rows[women[RINGING]]["outcome"] == "failed"
    assert rows[women[TALKING]]["outcome"] == "answered"        # answered_at was written
    # answered, but the route never had her call: not delivered, she is called again
    assert rows[women[UNSERVED]]["outcome"] == "failed"
    for row in rows.values():
        assert row["acquired_by"] is None and row["ended_at"] is not None
    assert peer.actions["hangup"] == 3 and peer.live() == 0      # orphans hung up
    assert peer.actions["originate"] == 3                        # nobody called twice
