"""A trunk shared by two nodes (`shared_cps`), on two fake Asterisks and one SQLite database:
two real Dialers (dial loop, heartbeat, pacing) together never send more call set-ups in
any second than the shared cap, both take part, and each marks its node stopped at the end."""
from __future__ import annotations

import asyncio
from dataclasses import replace

from ivr.adapters.nodes import read_nodes
from ivr.app import running
from ivr.service import Dialer
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of
from tests.fakes.ami_peer import Fate, FakeAmi

PHONES = [f"9190000{i:03d}" for i in range(16)]
SHARED_CPS = 4.0


async def test_nodes_two_dialers_keep_the_shared_cps_together(peer, tmp_path, sounds):
    async with FakeAmi() as other:
        for p in (peer, other):
            p.default = Fate(agi=False, talk=0.05)     # short calls: channels never bind
        configs = [replace(config_for(p, tmp_path, sounds, cps=10.0, channels=20,
                                      shared_cps=SHARED_CPS),
                           node=name, home=tmp_path / name, heartbeat_seconds=0.5)
                   for p, name in ((peer, "pune-1"), (other, "pune-2"))]
        async with running(configs[0], agi_port=0) as a, running(configs[1], agi_port=0) as b:
            women = await enrol(schedule_of(a), PHONES)
            dialers = [Dialer(s, schedule_of(s), s.config.run_trunks(), lease_seconds=lease(s))
                       for s in (a, b)]
            await asyncio.wait_for(asyncio.gather(
                *(d.run(asyncio.Event(), until_idle=True) for d in dialers)), 60)
            rows = await attempts(a.store)
            nodes = await read_nodes(a.store)
    assert {rows[w]["outcome"] for w in women.values()} == {"answered"}
    assert {r["acquired_by"] for r in rows.values()} == {None}
    assert len(peer.originated_at) > 0 and len(other.originated_at) > 0     # both took part
    assert len(peer.originated_at) + len(other.originated_at) == len(PHONES)
    times = sorted(peer.originated_at + other.originated_at)        # one event loop: one clock
    for i, t in enumerate(times):
        assert sum(t <= u < t + 0.95 for u in times[i:]) <= SHARED_CPS, times
    assert times[-1] - times[0] >= (len(PHONES) - SHARED_CPS) / SHARED_CPS - 0.05
    assert [(n.name, n.stopped_at is not None) for n in nodes] == [("pune-1", True),
                                                                    ("pune-2", True)]
