"""Pacing on the fake Asterisk: the dial loop never sends more than the trunk's CPS in any
second, nor holds more calls than its channels."""
from __future__ import annotations

import asyncio

from ivr.app import running
from ivr.service import Dialer
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of
from tests.fakes.ami_peer import Fate

PHONES = [f"91900001{i}" for i in range(8)]


async def dial_all(peer, config, phones) -> dict:
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        women = await enrol(schedule, phones)
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 30)
        rows = await attempts(service.store)
    assert {rows[w]["outcome"] for w in women.values()} == {"answered"}
    assert len(peer.originated_at) == len(phones)          # each once
    return rows


async def test_dial_loop_never_exceeds_the_trunks_cps(peer, tmp_path, sounds):
    peer.default = Fate(agi=False, talk=0.05)              # short calls: channels never bind
    await dial_all(peer, config_for(peer, tmp_path, sounds, cps=4.0, channels=20), PHONES)
    times = peer.originated_at
    # at most 4 set-ups in any second (arrival times at the peer: a little jitter allowed)
    for i, t in enumerate(times):
        assert sum(t <= u < t + 0.95 for u in times[i:]) <= 4, times
    assert times[-1] - times[0] >= (len(PHONES) - 4) / 4.0 - 0.05


async def test_dial_loop_never_holds_more_calls_than_the_trunks_channels(peer, tmp_path,
                                                                          sounds):
    peer.default = Fate(agi=False, talk=0.3)              # long calls: the CPS never binds
    await dial_all(peer, config_for(peer, tmp_path, sounds, cps=100.0, channels=2),
                   PHONES[:6])
    assert peer.most_live == 2
    times = peer.originated_at
    assert times[-1] - times[0] >= 2 * 0.3 - 0.05          # three rounds of two calls
