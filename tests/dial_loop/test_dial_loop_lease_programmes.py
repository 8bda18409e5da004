"""Two programmes with different leases in one `ivr run` (the fake Asterisk, the real SQLite
store): each call's lease is renewed at half its own programme's lease and for that length,
not at the installation's shortest. The old way (every lease renewed for the shortest) cut a
patient programme's lease down to the impatient one's: a database pause longer than that
would let another node reap a call that was still going on."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from ivr.app import running
from ivr.dial_loop import lease_length
from ivr.service import Dialer
from scheduler.model import Attempt, AttemptKind
from scheduler.programme import load_programme
from tests.dial_loop.conftest import attempts, config_for, until
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on

SHORT, LONG = 2.0, 4.0


def test_lease_length_is_the_one_its_claim_wrote():
    t = datetime(2026, 12, 1, 3, tzinfo=timezone.utc)
    a = Attempt(id=1, subscriber_id=1, kind=AttemptKind.SCHEDULED, message_key="m", number=1,
                claimed_at=t, acquired_until=t + timedelta(minutes=7))
    assert lease_length(a, 60.0) == 420.0
    assert lease_length(replace(a, acquired_until=None), 60.0) == 60.0
    assert lease_length(replace(a, acquired_until=t), 60.0) == 60.0


async def test_each_call_keeps_its_own_programmes_lease(peer, tmp_path, sounds):
    peer.hold_calls()                                   # both stay on until we let them go
    config = config_for(peer, tmp_path, sounds)
    short = quick_programme(tmp_path, gaps={}, lease=f"{SHORT:.0f}s")
    long = tmp_path / "test-long.toml"
    long.write_text(short.read_text(encoding="utf-8").replace(
        'name = "mmitra"', 'name = "patient"', 1).replace(
        f'lease = "{SHORT:.0f}s"', f'lease = "{LONG:.0f}s"', 1), encoding="utf-8")
    all_messages_are(sounds, TEST_MESSAGE, long)
    assert load_programme(long).retry.lease == timedelta(seconds=LONG)
    config = replace(config, programme=str(short), other_programmes=(str(long),))
    now = datetime.now(timezone.utc)
    async with running(config, agi_port=0) as service:
        schedules = service.schedule
        hers = await schedules.of("mmitra").enrol(woman_on("919000081", now), now, actor="t")
        his = await schedules.of("patient").enrol(woman_on("919000082", now), now, actor="t")
        # `ivr run`'s own choice: the shortest lease, now only for a call that carries none
        dialer = Dialer(service, schedules, config.run_trunks(), lease_seconds=SHORT)
        stop = asyncio.Event()
        task = asyncio.create_task(dialer.run(stop, drain_seconds=5))
        first: dict[int, dict] = {}

        async def both_claimed():
            first.update(await attempts(service.store))
            return {hers.id, his.id} <= set(first)
        await until(both_claimed)
        assert dialer.loop.lengths == {first[hers.id]["id"]: SHORT, first[his.id]["id"]: LONG}
        renewed: dict[int, dict] = {}

        async def both_renewed():
            rows = await attempts(service.store)
            for sub in (hers.id, his.id):
                if rows[sub]["acquired_until"] != first[sub]["acquired_until"]:
                    renewed.setdefault(sub, rows[sub])
            return len(renewed) == 2
        await until(both_renewed, timeout=15)
        # hers at half her 2 s (1 s after the claim) for 2 s; his at half his 4 s for 4 s:
        # the old way renewed his at 1 s for 2 s (claimed + 3 s, before his claim's end)
        for sub, lease in ((hers.id, SHORT), (his.id, LONG)):
            claimed = first[sub]["created_at"]
            assert first[sub]["acquired_until"] - claimed == lease
            assert renewed[sub]["acquired_until"] >= claimed + lease / 2 + lease - 0.05, sub
        assert renewed[his.id]["acquired_until"] > first[his.id]["acquired_until"]
        peer.release_calls()

        async def released():
            rows = await attempts(service.store)
            return all(rows[s]["outcome"] is not None for s in (hers.id, his.id))
        await until(released)
        stop.set()
        await asyncio.wait_for(task, 10)
        rows = await attempts(service.store)
    assert [rows[s]["outcome"] for s in (hers.id, his.id)] == ["answered", "answered"]
