"""Benchmark phases 2 and 3: the same batch without the calling service.

- Raw AMI blast: panoramisk's Manager directly, one Originate (Async) per call, up to the
  channel limit (a semaphore released by the call's Hangup); with no pacing at all (phase
  "blast"), or paced at the dialer's CPS on a fixed grid (phase "blast-cps").
- Call files: one .call file per call, written in a temp dir on the spool's filesystem and
  renamed into spool/outgoing all at once (what a programme does by hand); pbx_spool places
  them with no pacing and no channel limit.

Both play what the dialer's calls play to a woman who presses nothing, with a plain Playback
(no FastAGI): each call is Local/<number>@sim-phones (rings 1 s, answers, listens) connected
to Playback(greeting&message&menu&<menu timeout of silence>&invalid&menu&<silence>&goodbye)
(service_common.flow_playback); the call ends when the playback does.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

from service_common import Meter, Sampler, occupancy, spread
from service_watch import login, watching

from ivr.config import AmiSettings
from ivr.sandbox import Sandbox

RING_TIMEOUT_S = 30


def _originate_outcome(reply) -> tuple[bool, str]:
    messages = reply if isinstance(reply, list) else [reply]
    for m in messages:
        if m.get("Event") == "OriginateResponse":
            return m.get("Response") == "Success", str(m.get("Reason"))
    return False, f"refused: {messages[0].get('Message')}"


class Grid:
    """Set-ups at most `cps` a second on a fixed grid (t0, t0 + 1/cps, ...): a late wake-up
    does not push the later slots back; after an idle spell the grid restarts at now."""

    def __init__(self, cps: float):
        self.step = 1.0 / cps
        self.next_at = 0.0

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        slot = max(self.next_at, loop.time())
        self.next_at = slot + self.step
        await asyncio.sleep(max(0.0, slot - loop.time()))


async def run_blast(settings: AmiSettings, asterisk_pid: int, numbers: list[str], limit: int,
                    playback: str, call_s: float, timeout: float,
                    cps: float | None = None, application: str = "Playback") -> dict:
    """Every Originate at once (cps None) or `cps` a second, up to `limit` live; the next one
    as soon as a call ends. Each call runs `application` with `playback` as its data
    (bench/nodes_phones.py: Wait, the phone with a silent near end)."""
    manager = await login(settings)
    loop = asyncio.get_running_loop()
    ends: dict[str, asyncio.Future] = {}

    def on_hangup(_manager, message) -> None:
        future = ends.get(str(message.get("Uniqueid")))
        if future is not None and not future.done():
            future.set_result((time.time(), str(message.get("Cause"))))

    manager.register_event("Hangup", on_hangup)
    limit_sem = asyncio.Semaphore(limit)
    grid = Grid(cps) if cps else None
    live = [0]
    placed = [0]
    failures: Counter = Counter()
    durations: list[float] = []
    starts: list[float] = []
    last_end = [0.0]

    async def one(i: int, number: str) -> None:
        async with limit_sem:
            if grid is not None:
                await grid.take()
            uid = f"blast-{i}"
            ends[uid] = loop.create_future()
            live[0] += 1
            placed[0] += 1
            started = time.time()
            starts.append(started)
            try:
                reply = await asyncio.wait_for(manager.send_action({
                    "Action": "Originate", "ActionID": f"blast-{i}",
                    "Channel": f"Local/{number}@sim-phones", "Application": application,
                    "Data": playback, "Timeout": str(RING_TIMEOUT_S * 1000), "Async": "true",
                    "ChannelId": uid, "OtherChannelId": uid + "-2"}), RING_TIMEOUT_S + 30)
                ok, reason = _originate_outcome(reply)
                if not ok:
                    failures[f"originate {reason}"] += 1
                    return
                ended, cause = await asyncio.wait_for(ends[uid], timeout)
                durations.append(ended - started)
                last_end[0] = max(last_end[0], ended)
                if ended - started < call_s:       # 1 s of ringing gives a margin
                    failures[f"short call (cause {cause})"] += 1
            except asyncio.TimeoutError:
                failures["timeout"] += 1
            finally:
                live[0] -= 1

    sampler = Sampler(live=lambda: live[0], placed=lambda: placed[0])
    sampling = asyncio.create_task(sampler.run())
    try:
        async with watching(settings, numbers, limit, call_s) as watch:
            meter = Meter(asterisk_pid).start()
            try:
                await asyncio.wait_for(
                    asyncio.gather(*(one(i, n) for i, n in enumerate(numbers))), timeout + 60)
            finally:
                meter.stop()
            await watch.all_ended(30)
    finally:
        sampling.cancel()
        await asyncio.gather(sampling, return_exceptions=True)
        manager.close()
    what = "Playback of the flow's sounds" if application == "Playback" else \
        f"{application}({playback})"
    method = (f"raw AMI blast (panoramisk, Originate Async -> {what})"
              + (f", paced at {cps:g} CPS" if cps else ", unpaced"))
    return {
        "method": method, "cps": cps,
        "batch": len(numbers), "limit": limit, "failures": sum(failures.values()),
        "failure_kinds": dict(failures),
        "completion_s": round(last_end[0] - min(starts), 2) if durations else None,
        "call_s": spread(durations, 2), "cpu": meter.figures(len(numbers)),
        "occupancy": occupancy(sampler.samples, limit, len(numbers)),
        "originates_sent_in_first_s": sum(1 for t in starts if t < min(starts) + 1.0),
        "asterisk_view": watch.figures,
    }


async def run_call_files(box: Sandbox, settings: AmiSettings, asterisk_pid: int,
                         numbers: list[str], playback: str, call_s: float, timeout: float,
                         limit: int) -> dict:
    """All the call files renamed into spool/outgoing at once; an AMI observer follows the
    ;1 half of each Local channel (Newchannel .. Hangup) to count live calls."""
    if "pbx_spool.so" not in box.cli("module show like pbx_spool"):
        out = box.cli("module load pbx_spool.so")
        if "Loaded" not in out:
            raise RuntimeError(f"cannot load pbx_spool.so: {out.strip()}")
    outgoing = box.rt / "spool" / "outgoing"
    staging = box.rt / "spool" / "bench-staging"
    outgoing.mkdir(parents=True, exist_ok=True)
    staging.mkdir(parents=True, exist_ok=True)
    files = []
    for i, number in enumerate(numbers):
        path = staging / f"bench-{i}.call"
        path.write_text(f"Channel: Local/{number}@sim-phones\nApplication: Playback\n"
                        f"Data: {playback}\nMaxRetries: 0\nWaitTime: {RING_TIMEOUT_S}\n"
                        "Archive: no\n")
        files.append(path)
    async with watching(settings, numbers, limit, call_s) as watch:
        meter = Meter(asterisk_pid).start()
        t0 = time.time()
        try:
            for path in files:
                os.rename(path, outgoing / path.name)
            dropped = time.time() - t0
            done = await watch.all_ended(timeout)
        finally:
            meter.stop()
    seen = watch.figures
    durations_n = seen.get("channels_ended", 0)
    first = seen.get("first_channel_at")
    return {
        "method": "call files (pbx_spool, Application Playback of the flow's sounds)",
        "batch": len(numbers), "dropped_in_s": round(dropped, 3),
        "calls_ended": durations_n, "still_up": seen.get("still_up"),
        "failures": len(numbers) - durations_n + seen.get("short_calls", 0),
        "short_calls": seen.get("short_calls"), "hangup_causes": seen.get("hangup_causes"),
        "first_channel_after_s": round(first - t0, 2) if first else None,
        "completion_s": round(meter.wall, 2) if done else None,
        "call_s": seen.get("call_s"), "cpu": meter.figures(len(numbers)),
        "occupancy": seen.get("occupancy"),
        "left_in_spool": len(list(outgoing.glob("bench-*.call"))),
        "asterisk_view": seen,
    }
