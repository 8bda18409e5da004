"""Shared pieces of the calling-service benchmark (bench/service_bench.py): a private sandbox
Asterisk on free ports, sounds, CPU readers, occupancy sampling and small statistics.

Nothing here is imported by the project; it is benchmark tooling only.
"""
from __future__ import annotations

import asyncio
import os
import re
import resource
import socket
import subprocess
import sys
import time
import wave
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import constants as C  # noqa: E402
from ivr.config import Config, load_config  # noqa: E402
from ivr.sandbox import Sandbox  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402
from tests.sandbox.conftest import free_port  # noqa: E402,F401  (the tests' own)

SIPP_DIR = ROOT / "dialplan" / "sandbox" / "sipp"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MESSAGE_KEY = "bench-msg"
SILENCE_KEY = "bench-menu-wait"
MENU_TIMEOUT_S = 5.0               # ivr/flow.py CallPlan.menu_timeout_ms: the wait after the menu
PROMPT_S = 0.3                     # every prompt's length here
SAMPLE_EVERY = 0.1                 # occupancy samples, seconds


# ---------------------------------------------------------------------- the private sandbox
@contextmanager
def private_sandbox(work: Path, shared_home: Path, *, rtp: tuple[int, int],
                    sounds: Path | None = None) -> Iterator[Sandbox]:
    """A sandbox Asterisk of our own (own home in `work`, free ports), reusing the unpacked
    Asterisk of the shared sandbox's home (no second download). Its verbose logging is turned
    off at run time: the Sandbox class has no option for it (verbose=3 logs every dialplan
    step to messages.log, which costs CPU at 500 calls)."""
    prefix = shared_home / "sandbox" / "prefix"
    if not (prefix / ".provisioned").exists():
        raise SystemExit(f"no unpacked Asterisk in {prefix}: run `ivr sandbox provision` first")
    home = work / "asterisk"
    (home / "sandbox").mkdir(parents=True)
    (home / "sandbox" / "prefix").symlink_to(prefix)
    if sounds is not None:
        # its dialplan's IVR_SOUNDS (<home>/sounds) is the controller's sounds, as a deployment
        # has it (docs/deploy.md): the fallback plays her message when the controller cannot
        (home / "sounds").symlink_to(sounds)
    box = Sandbox(home, ami_port=free_port(socket.SOCK_STREAM), sip_port=free_port(),
                  rtp_start=rtp[0], rtp_end=rtp[1], agi_port=free_port(socket.SOCK_STREAM),
                  sipp_port=free_port())
    box.start()
    try:
        quiet(box)
        yield box
    finally:
        box.stop()


def quiet(box: Sandbox) -> None:
    """Verbose 0 on the console and no verbose channel in the rendered logger.conf."""
    logger = box.etc / "logger.conf"
    text = logger.read_text()
    logger.write_text(re.sub(r",\s*verbose\(\d+\)", "", text))
    box.cli("logger reload")
    box.cli("core set verbose 0")


def bench_config(box: Sandbox, *, database: Path, sounds: Path, programme: Path,
                 trunks: dict[str, dict]) -> Config:
    """The private sandbox's ivr.toml with our database, sounds, programme and trunk limits."""
    cfg = load_config(box.home / "ivr.toml", env={"IVR_HOME": str(box.home)})
    new = tuple(replace(t, **trunks.get(t.name, {})) for t in cfg.trunks)
    return replace(cfg, database=database, sounds=sounds, programme=str(programme), trunks=new)


def channel_count(box: Sandbox) -> int:
    out = box.cli("core show channels count")
    m = re.search(r"(\d+) active channels?", out)
    if not m:
        raise RuntimeError(f"unexpected `core show channels count` output: {out!r}")
    return int(m.group(1))


async def settle(box: Sandbox, timeout: float = 120.0) -> float:
    """Wait until the sandbox has no channel left (a phase must not overlap the next)."""
    start = time.monotonic()
    while channel_count(box) > 0:
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"channels still up after {timeout:.0f} s")
        await asyncio.sleep(0.5)
    return time.monotonic() - start


# ---------------------------------------------------------------------- sounds and programme
def tone(path: Path, seconds: float, freq: int = 440) -> None:
    """An 8 kHz mono 16-bit WAV tone (the format Asterisk plays without transcoding)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth",
                    str(seconds), "sine", str(freq), "vol", "0.3"], check=True)


def make_sounds(root: Path, programme: Path, message_seconds: float,
                language: str = "hi") -> Path:
    """<root>/<lang>/: the message (every message of the programme links to it) and every
    prompt as a 0.3 s tone. Returns the message's path without extension."""
    lang = root / language
    tone(lang / f"{MESSAGE_KEY}.wav", message_seconds)
    for prompt in C.PROMPTS:
        tone(lang / f"{prompt}.wav", PROMPT_S, 660)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16",
                    str(lang / f"{SILENCE_KEY}.wav"), "trim", "0", str(MENU_TIMEOUT_S)],
                   check=True)
    for m in load_programme(programme).messages:
        target = lang / f"{m.key}.wav"
        if not target.exists():
            target.symlink_to(lang / f"{MESSAGE_KEY}.wav")
    return lang / MESSAGE_KEY


def flow_playback(message: Path) -> tuple[str, float]:
    """What the dialer's call plays to a woman who presses nothing (ivr/flow.py: greeting,
    message, menu, no key within the timeout, invalid, menu, no key, goodbye) as one
    Playback argument of the same files, the waits for a key as silence; and its length, s."""
    lang = message.parent
    parts = [C.PROMPT_GREETING, MESSAGE_KEY, C.PROMPT_MENU, SILENCE_KEY, C.PROMPT_INVALID,
             C.PROMPT_MENU, SILENCE_KEY, C.PROMPT_GOODBYE]
    seconds = 0.0
    for part in parts:
        with wave.open(str(lang / f"{part}.wav")) as w:
            seconds += w.getnframes() / w.getframerate()
    return "&".join(str(lang / part) for part in parts), seconds


# ---------------------------------------------------------------------- CPU, load
def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def self_cpu() -> float:
    """utime + stime of this process (all threads, e.g. aiosqlite's), seconds."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores, /proc/stat: not idle/iowait)."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLK_TCK


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Meter:
    """CPU of this process and of Asterisk, and wall time, between start() and stop()."""
    asterisk_pid: int
    t0: float = 0.0
    wall: float = 0.0
    own: float = 0.0
    asterisk: float = 0.0
    load_before: str = ""
    load_after: str = ""
    machine: float = 0.0
    _own0: float = 0.0
    _ast0: float = 0.0
    _machine0: float = 0.0

    def start(self) -> "Meter":
        self.load_before = loadavg()
        self.t0, self._own0, self._ast0 = time.time(), self_cpu(), proc_cpu(self.asterisk_pid)
        self._machine0 = machine_busy()
        return self

    def stop(self) -> "Meter":
        self.wall = time.time() - self.t0
        self.own = self_cpu() - self._own0
        self.asterisk = proc_cpu(self.asterisk_pid) - self._ast0
        self.machine = machine_busy() - self._machine0
        self.load_after = loadavg()
        return self

    def figures(self, calls: int) -> dict:
        return {
            "wall_s": round(self.wall, 2), "own_cpu_s": round(self.own, 2),
            "asterisk_cpu_s": round(self.asterisk, 2),
            "own_cpu_ms_per_call": round(1000 * self.own / max(calls, 1), 2),
            "asterisk_cpu_ms_per_call": round(1000 * self.asterisk / max(calls, 1), 2),
            "own_share_of_asterisk": round(self.own / self.asterisk, 4) if self.asterisk else None,
            "asterisk_cores": round(self.asterisk / self.wall, 3) if self.wall else None,
            "machine_busy_cores": round(self.machine / self.wall, 3) if self.wall else None,
            "others_cores": (round((self.machine - self.asterisk - self.own) / self.wall, 3)
                             if self.wall else None),
            "load_before": self.load_before, "load_after": self.load_after,
        }


# ---------------------------------------------------------------------- occupancy
@dataclass
class Sampler:
    """Every SAMPLE_EVERY seconds: (time, live calls, calls placed so far)."""
    live: Callable[[], int]
    placed: Callable[[], int]
    samples: list[tuple[float, int, int]] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            self.samples.append((time.time(), self.live(), self.placed()))
            await asyncio.sleep(SAMPLE_EVERY)


def occupancy(samples: list[tuple[float, int, int]], limit: int, batch: int) -> dict:
    """Mean live/limit while backlog exists (some of the batch not placed yet), from the
    first placement; and the same from the moment the limit was first reached (after the
    CPS ramp, which no dialer can shorten without breaking the carrier's cap)."""
    backlog = [s for s in samples if s[2] >= 1 and s[2] < batch]
    full_at = next((s[0] for s in samples if s[1] >= limit), None)
    after = [s for s in backlog if full_at is not None and s[0] >= full_at]
    mean = lambda xs: sum(s[1] for s in xs) / len(xs) / limit if xs else None  # noqa: E731
    return {
        "limit": limit, "peak_live": max((s[1] for s in samples), default=0),
        "backlog_window_s": round(backlog[-1][0] - backlog[0][0], 2) if backlog else 0.0,
        "mean_occupancy_backlog": _round(mean(backlog)),
        "full_window_s": round(after[-1][0] - after[0][0], 2) if after else 0.0,
        "mean_occupancy_after_full": _round(mean(after)),
        "min_live_after_full": min((s[1] for s in after), default=None),
        "samples": len(samples),
    }


def _round(x: float | None, n: int = 4) -> float | None:
    return None if x is None else round(x, n)


# ---------------------------------------------------------------------- statistics
def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    xs = sorted(values)
    k = max(0, min(len(xs) - 1, -(-len(xs) * q // 100) - 1))
    return xs[int(k)]


def spread(values: list[float], digits: int = 3) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "min": round(min(values), digits),
            "p50": round(percentile(values, 50), digits),
            "p95": round(percentile(values, 95), digits), "max": round(max(values), digits)}


def pacing(starts: list[float], cps: float, ramp: int) -> dict:
    """Achieved set-up rate over the first `ramp` placements (before the channel limit
    binds) against the configured CPS, and the most set-ups in any sliding second."""
    xs = sorted(starts)[:ramp]
    if len(xs) < 2:
        return {"n": len(xs)}
    rate = (len(xs) - 1) / (xs[-1] - xs[0])
    j = most = 0
    for i, t in enumerate(xs):
        while xs[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    gaps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    step = 1.0 / cps
    long = [g for g in gaps if g > 1.5 * step]
    short = [g for g in gaps if g <= 1.5 * step]
    return {"n": len(xs), "configured_cps": cps, "achieved_cps": round(rate, 3),
            "error": round(rate / cps - 1, 4), "max_in_any_second": most,
            "gap_s": spread(gaps, 4),
            # where the time goes: long gaps (between claim batches) and the drift of the rest
            "long_gaps": len(long), "long_gaps_excess_s": round(sum(g - step for g in long), 3),
            # where they fall: after which set-up (1-based), and how long (s)
            "long_gaps_after": [[i + 1, round(g, 3)] for i, g in enumerate(gaps)
                                if g > 1.5 * step][:20],
            "short_gaps_mean_excess_ms": round(1000 * (sum(short) / len(short) - step), 3)
            if short else None}
