"""Benchmark phases 2 and 3: the same batch without the calling service.

- Raw AMI blast: panoramisk's Manager directly, one Originate (Async) per call, all at once
  up to the channel limit (a semaphore released by the call's Hangup), no CPS pacing at all.
- Call files: one .call file per call, written in a temp dir on the spool's filesystem and
  renamed into spool/outgoing all at once (what a programme does by hand); pbx_spool places
  them with no pacing and no channel limit.

Both play the same long message with a plain Playback (no FastAGI): each call is
Local/<number>@sim-phones (rings 1 s, answers, listens) connected to the application
Playback(<sounds>/hi/bench-msg); the call ends when the playback does.
"""
from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from pathlib import Path

from panoramisk import Manager
from service_common import Meter, Sampler, occupancy, spread

from ivr.config import AmiSettings
from ivr.sandbox import Sandbox

RING_TIMEOUT_S = 30
LOCAL_1 = re.compile(r"^Local/(\d+)@sim-phones-[0-9a-f]+;1$")


async def login(settings: AmiSettings, timeout: float = 10.0) -> Manager:
    loop = asyncio.get_running_loop()
    logged: asyncio.Future = loop.create_future()
    manager = Manager(loop=loop, host=settings.host, port=settings.port,
                      username=settings.username, secret=settings.secret,
                      ping_delay=10 ** 6, ping_interval=10 ** 6,
                      forgetable_actions=("ping", "login", "logoff", "originate"),
                      on_login=lambda m: logged.done() or logged.set_result(True))
    manager.connect()
    try:
        await asyncio.wait_for(logged, timeout)
    except asyncio.TimeoutError:
        manager.close()
        raise RuntimeError(f"no AMI login at {settings.host}:{settings.port}") from None
    return manager


def _originate_outcome(reply) -> tuple[bool, str]:
    messages = reply if isinstance(reply, list) else [reply]
    for m in messages:
        if m.get("Event") == "OriginateResponse":
            return m.get("Response") == "Success", str(m.get("Reason"))
    return False, f"refused: {messages[0].get('Message')}"


async def run_blast(settings: AmiSettings, asterisk_pid: int, numbers: list[str], limit: int,
                    sound: Path, message_s: float, timeout: float) -> dict:
    """Every Originate at once (up to `limit` live); the next one as soon as a call ends."""
    manager = await login(settings)
    loop = asyncio.get_running_loop()
    ends: dict[str, asyncio.Future] = {}

    def on_hangup(_manager, message) -> None:
        future = ends.get(str(message.get("Uniqueid")))
        if future is not None and not future.done():
            future.set_result((time.time(), str(message.get("Cause"))))

    manager.register_event("Hangup", on_hangup)
    limit_sem = asyncio.Semaphore(limit)
    live = [0]
    placed = [0]
    failures: Counter = Counter()
    durations: list[float] = []
    starts: list[float] = []
    last_end = [0.0]

    async def one(i: int, number: str) -> None:
        async with limit_sem:
            uid = f"blast-{i}"
            ends[uid] = loop.create_future()
            live[0] += 1
            placed[0] += 1
            started = time.time()
            starts.append(started)
            try:
                reply = await asyncio.wait_for(manager.send_action({
                    "Action": "Originate", "ActionID": f"blast-{i}",
                    "Channel": f"Local/{number}@sim-phones", "Application": "Playback",
                    "Data": str(sound), "Timeout": str(RING_TIMEOUT_S * 1000), "Async": "true",
                    "ChannelId": uid, "OtherChannelId": uid + "-2"}), RING_TIMEOUT_S + 30)
                ok, reason = _originate_outcome(reply)
                if not ok:
                    failures[f"originate {reason}"] += 1
                    return
                ended, cause = await asyncio.wait_for(ends[uid], timeout)
                durations.append(ended - started)
                last_end[0] = max(last_end[0], ended)
                if ended - started < message_s:       # 1 s of ringing gives a margin
                    failures[f"short call (cause {cause})"] += 1
            except asyncio.TimeoutError:
                failures["timeout"] += 1
            finally:
                live[0] -= 1

    sampler = Sampler(live=lambda: live[0], placed=lambda: placed[0])
    sampling = asyncio.create_task(sampler.run())
    meter = Meter(asterisk_pid).start()
    try:
        await asyncio.wait_for(asyncio.gather(*(one(i, n) for i, n in enumerate(numbers))),
                               timeout + 60)
    finally:
        meter.stop()
        sampling.cancel()
        await asyncio.gather(sampling, return_exceptions=True)
        manager.close()
    return {
        "method": "raw AMI blast (panoramisk, Originate Async -> Playback)",
        "batch": len(numbers), "limit": limit, "failures": sum(failures.values()),
        "failure_kinds": dict(failures),
        "completion_s": round(last_end[0] - min(starts), 2) if durations else None,
        "call_s": spread(durations, 2), "cpu": meter.figures(len(numbers)),
        "occupancy": occupancy(sampler.samples, limit, len(numbers)),
        "originates_sent_in_first_s": sum(1 for t in starts if t < min(starts) + 1.0),
    }


async def run_call_files(box: Sandbox, settings: AmiSettings, asterisk_pid: int,
                         numbers: list[str], sound: Path, message_s: float, timeout: float,
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
                        f"Data: {sound}\nMaxRetries: 0\nWaitTime: {RING_TIMEOUT_S}\n"
                        "Archive: no\n")
        files.append(path)
    manager = await login(settings)
    started: dict[str, float] = {}
    durations: list[float] = []
    causes: Counter = Counter()
    done = asyncio.Event()
    wanted = set(numbers)

    def on_new(_manager, message) -> None:
        m = LOCAL_1.match(str(message.get("Channel")))
        if m and m.group(1) in wanted:
            started[str(message.get("Uniqueid"))] = time.time()

    def on_hangup(_manager, message) -> None:
        begun = started.pop(str(message.get("Uniqueid")), None)
        if begun is not None:
            durations.append(time.time() - begun)
            causes[str(message.get("Cause"))] += 1
            if len(durations) == len(numbers):
                done.set()

    manager.register_event("Newchannel", on_new)
    manager.register_event("Hangup", on_hangup)
    seen = lambda: len(started) + len(durations)  # noqa: E731
    sampler = Sampler(live=lambda: len(started), placed=seen)
    sampling = asyncio.create_task(sampler.run())
    meter = Meter(asterisk_pid).start()
    t0 = time.time()
    try:
        for path in files:
            os.rename(path, outgoing / path.name)
        dropped = time.time() - t0
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except asyncio.TimeoutError:
            pass
    finally:
        meter.stop()
        sampling.cancel()
        await asyncio.gather(sampling, return_exceptions=True)
        manager.close()
    first = next((s[0] for s in sampler.samples if s[2] > 0), None)
    appeared_all = next((s[0] for s in sampler.samples if s[2] >= len(numbers)), None)
    short = sum(1 for d in durations if d < message_s)
    return {
        "method": "call files (pbx_spool, Application Playback)",
        "batch": len(numbers), "dropped_in_s": round(dropped, 3),
        "calls_seen": len(durations) + len(started), "calls_ended": len(durations),
        "failures": len(numbers) - len(durations) + short,
        "short_calls": short, "hangup_causes": dict(causes),
        "first_channel_after_s": round(first - t0, 2) if first else None,
        "all_channels_after_s": round(appeared_all - t0, 2) if appeared_all else None,
        "completion_s": round(meter.wall, 2) if done.is_set() else None,
        "call_s": spread(durations, 2), "cpu": meter.figures(len(numbers)),
        "occupancy": occupancy(sampler.samples, limit, len(numbers)),
        "left_in_spool": len(list(outgoing.glob("bench-*.call"))),
    }
