"""Asterisk's own view of a batch of calls, the same for every method of the calling benchmark
(dialer, raw AMI blast, call files): an AMI observer follows the `;1` half of each
Local/<number>@sim-phones channel from Newchannel to Hangup. It runs in a process of its own
(`watching`), so neither its CPU nor its event handling lands in the measured process.

So the completion times of the methods are measured by one clock and one rule (first channel
up to last channel down), whatever each method records itself; and the refill latency (a
channel freed -> the next call's channel up) shows where a method loses time once the channel
limit binds.
"""
from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import AsyncIterator

from panoramisk import Manager
from service_common import Sampler, occupancy, spread

from ivr.config import AmiSettings

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


class ChannelWatch:
    """Newchannel .. Hangup of the `;1` channels of `numbers` (time.time() on arrival)."""

    def __init__(self, numbers: list[str]):
        self.wanted = set(numbers)
        self.total = len(numbers)
        self.started: dict[str, float] = {}         # live: uniqueid -> Newchannel time
        self.spans: list[tuple[float, float]] = []  # ended: (Newchannel, Hangup)
        self.causes: Counter = Counter()
        self.all_ended = asyncio.Event()
        self.manager: Manager | None = None

    async def start(self, settings) -> "ChannelWatch":
        self.manager = await login(settings)
        self.manager.register_event("Newchannel", self._on_new)
        self.manager.register_event("Hangup", self._on_hangup)
        return self

    def close(self) -> None:
        if self.manager is not None:
            self.manager.close()

    def _on_new(self, _manager, message) -> None:
        m = LOCAL_1.match(str(message.get("Channel")))
        if m and m.group(1) in self.wanted:
            self.started[str(message.get("Uniqueid"))] = time.time()

    def _on_hangup(self, _manager, message) -> None:
        begun = self.started.pop(str(message.get("Uniqueid")), None)
        if begun is not None:
            self.spans.append((begun, time.time()))
            self.causes[str(message.get("Cause"))] += 1
            if len(self.spans) == self.total:
                self.all_ended.set()

    @property
    def live(self) -> int:
        return len(self.started)

    @property
    def seen(self) -> int:
        return len(self.started) + len(self.spans)

    def figures(self, limit: int, min_call_s: float = 0.0) -> dict:
        """Completion (first channel up .. last down), call length, and the refill latency:
        the k-th channel to end -> the (limit + k)-th channel to start (the calls that had to
        wait for a free channel)."""
        if not self.spans:
            return {"channels_ended": 0}
        ups = sorted(s for s, _ in self.spans)
        downs = sorted(e for _, e in self.spans)
        refill = [ups[limit + k] - downs[k] for k in range(max(0, len(ups) - limit))]
        if refill and min(refill) < 0:      # more than `limit` up at once (call files)
            refill = []
        calls = [e - s for s, e in self.spans]
        return {"channels_ended": len(self.spans), "still_up": len(self.started),
                "short_calls": sum(1 for c in calls if c < min_call_s),
                "completion_s": round(downs[-1] - ups[0], 2),
                "call_s": spread(calls, 2),
                "first_wave_up_s": round(ups[min(limit, len(ups)) - 1] - ups[0], 2),
                "refill_s": spread(refill, 3), "hangup_causes": dict(self.causes)}


class Watching:
    """The parent's handle on a watch process: `figures` once it has ended."""

    def __init__(self, proc: asyncio.subprocess.Process | None):
        self.proc = proc
        self.figures: dict = {}

    async def all_ended(self, timeout: float) -> bool:
        """Wait until the watch saw every call end (it then exits by itself)."""
        if self.proc is None:
            return True
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


@asynccontextmanager
async def watching(settings: AmiSettings | None, numbers: list[str], limit: int,
                   min_call_s: float = 0.0, ready_timeout: float = 15.0
                   ) -> AsyncIterator[Watching]:
    """A watch process logged in and following `numbers` for the time of the block; calls
    shorter than `min_call_s` are counted as short. No watch when `settings` is None."""
    if settings is None:
        yield Watching(None)
        return
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).resolve()), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    ami = {k: getattr(settings, k) for k in ("host", "port", "username", "secret")}
    proc.stdin.write(json.dumps({"ami": ami, "numbers": numbers, "limit": limit,
                                 "min_call_s": min_call_s}).encode() + b"\n")
    await proc.stdin.drain()
    proc.stdin.close()
    line = await asyncio.wait_for(proc.stdout.readline(), ready_timeout)
    if line.strip() != b"ready":
        proc.kill()
        raise RuntimeError(f"the AMI watch did not start: {line!r}")
    handle = Watching(proc)
    try:
        yield handle
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        out = await asyncio.wait_for(proc.stdout.read(), 30)
        await proc.wait()
        handle.figures = json.loads(out) if out.strip() else {"error": "no figures"}


async def _main() -> None:
    job = json.loads(sys.stdin.readline())
    numbers, limit = job["numbers"], job["limit"]
    watch = await ChannelWatch(numbers).start(SimpleNamespace(**job["ami"]))
    sampler = Sampler(live=lambda: watch.live, placed=lambda: watch.seen)
    sampling = asyncio.create_task(sampler.run())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    waiting = [asyncio.create_task(stop.wait()), asyncio.create_task(watch.all_ended.wait())]
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    for task in (sampling, *waiting):
        task.cancel()
    watch.close()
    first = next((s[0] for s in sampler.samples if s[2] > 0), None)
    print(json.dumps({**watch.figures(limit, job["min_call_s"]),
                      "occupancy": occupancy(sampler.samples, limit, len(numbers)),
                      "first_channel_at": first, "all_ended": watch.all_ended.is_set()}),
          flush=True)


if __name__ == "__main__":
    asyncio.run(_main())
