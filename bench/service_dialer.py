"""Benchmark phase 1: the calling service (ivr.service.Dialer, in this process) places a batch
of scheduled calls of a long message through the sandbox, paced by the trunk's channels and
CPS; the in-call flow runs over FastAGI as in production (message, then the menu, which times
out twice, then goodbye). Measures this process's CPU against Asterisk's, occupancy while
backlog exists, and the pacing of set-ups (attempts.started_at).
"""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timezone

from service_common import Meter, Sampler, occupancy, pacing, spread
from service_watch import watching

from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.app import running
from ivr.config import AmiSettings, Config
from ivr.service import Dialer
from scheduler.model import Subscriber
from scheduler.programme import load_programme
from tests.e2e.run_helpers import woman_on


def phones(n: int, block: str = "1") -> list[str]:
    """Distinct sim-phone numbers that answer and listen until the IVR hangs up
    (91 90000 1 <index>: see dialplan/sandbox/extensions.conf, [sim-phones])."""
    return [f"9190000{block}{i:04d}" for i in range(n)]


async def run_dialer(cfg: Config, asterisk_pid: int, batch: int, timeout: float,
                     observer: AmiSettings | None) -> dict:
    """`observer`: the AMI login of the watch process (None: no watch, nothing but the dialer
    in this process and on Asterisk's AMI)."""
    programme = load_programme(cfg.programme)
    trunk = cfg.trunk("sim")
    async with running(cfg, agi_port=0) as service:
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        women: list[Subscriber] = [woman_on(p, now) for p in phones(batch)]
        await schedule.enrol_many([Enrolment(w) for w in women], now, actor="bench")
        dialer = Dialer(service, schedule, [trunk],
                        lease_seconds=programme.retry.lease.total_seconds())
        sampler = Sampler(live=lambda: dialer.lanes[0].pacer.live,
                          placed=lambda: dialer.stats.placed)
        sampling = asyncio.create_task(sampler.run())
        async with watching(observer, phones(batch), trunk.channels) as watch:
            meter = Meter(asterisk_pid).start()
            try:
                await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True,
                                                  idle_horizon=60.0), timeout)
            finally:
                meter.stop()
                sampling.cancel()
                await asyncio.gather(sampling, return_exceptions=True)
            await watch.all_ended(30)
        rows = await service.store.fetchall(
            "SELECT started_at, answered_at, ended_at, outcome, heard_share, ended "
            "FROM attempts ORDER BY started_at")
    starts = [r["started_at"] for r in rows if r["started_at"] is not None]
    ends = [r["ended_at"] for r in rows if r["ended_at"] is not None]
    outcomes = Counter(r["outcome"] for r in rows)
    heard_all = sum(1 for r in rows if r["outcome"] == "answered"
                    and (r["heard_share"] or 0) >= 0.99)
    return {
        "method": "dialer (ivr.service.Dialer, FastAGI flow)",
        "batch": batch, "trunk": {"channels": trunk.channels, "cps": trunk.cps},
        "attempts": len(rows), "outcomes": dict(outcomes),
        "heard_whole_message": heard_all,
        "failures": len(rows) - heard_all + max(batch - len(rows), 0),
        "completion_s": round(max(ends) - min(starts), 2) if starts and ends else None,
        "call_s": spread([r["ended_at"] - r["started_at"] for r in rows
                          if r["ended_at"] and r["started_at"]], 2),
        "flow_ended": dict(Counter(r["ended"] for r in rows)),
        "cpu": meter.figures(len(rows)),
        "occupancy": occupancy(sampler.samples, trunk.channels, batch),
        "pacing": pacing(starts, trunk.cps, min(trunk.channels, len(starts))),
        "errors": list(dialer.stats.errors),
        "asterisk_view": watch.figures,
    }
