"""The running pieces of a failure drill (bench/drills.py): the service's state directory and
configuration, the women on simulated phones, the `ivr` subprocesses, our AMI listener and the
service's status file. Benchmark tooling only."""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from bench.drill_parts import AmiWatch, campaign_done, message_end_seconds, store_rows

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.sandbox import Sandbox
from ivr.sandbox.postgres import Cluster
from ivr.sandbox.run_home import TrunkLimits, run_env, write_run_config
from scheduler.programme import load_programme
from tests.e2e.run_helpers import woman_on

ROOT = Path(__file__).resolve().parent.parent
IVR = [sys.executable, "-c", "import cli; cli.main()"]
VAR = ROOT / "var"
MESSAGE_SECONDS = 8.0
RINGS = (2, 3, 5, 7)            # seconds each phone rings before she answers
CHANNELS = 10
RESTART_AFTER = 5.0             # deploy/ivr.service RestartSec
TEST_PHONE = "9190000904"       # the `ivr call test` phone: rings 4 s, then listens
TRIGGER_TIMEOUT = 40.0
CAMPAIGN_TIMEOUT = 150.0
STOP_TIMEOUT = 40.0
STATUS_EVERY = 1.0              # the service rewrites its status file this often


def phone(i: int) -> str:
    """Distinct sim numbers 91 90000 9 <ring>, leading zeros keep them apart: 0..02 rings 2 s."""
    return "91900009" + "0" * (i // len(RINGS)) + str(RINGS[i % len(RINGS)])


@contextmanager
def private_cluster(wanted: bool) -> Iterator[Cluster | None]:
    """A PostgreSQL cluster of the drill's own (stopping it hurts nobody else), removed at
    the end; None when not `wanted`."""
    if not wanted:
        yield None
        return
    cluster = Cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


class Drill:
    """One drill's processes and files: a private Asterisk, the service's state directory,
    our AMI listener, and every subprocess it started (all stopped by close()). `cluster`:
    a private PostgreSQL (ivr/sandbox/postgres.py) whose database the service uses; None:
    SQLite in the state directory."""

    def __init__(self, name: str, work: Path, box: Sandbox, sounds: Path, programme: Path,
                 cluster: Cluster | None = None):
        self.name, self.work, self.box = name, work, box
        self.home = work / "home"
        self.home.mkdir(parents=True)
        self.cluster = cluster
        self.db: Path | str = self.home / "ivr.db"
        if cluster is not None:
            self.db = cluster.create_database("drill")
        write_run_config(self.home, box, database=str(self.db), sounds=sounds,
                         programme=programme, trunk=TrunkLimits(channels=CHANNELS))
        self.programme = programme
        self.env = run_env(self.home)
        self.watch = AmiWatch(box.ports.ami_port, *box.test_user())
        self.procs: list[asyncio.subprocess.Process] = []
        self.logs: list[Path] = []
        self.tasks: list[asyncio.Task] = []
        self.rested: list[str] = []
        self.status: dict = {}
        self.message_end = message_end_seconds(MESSAGE_SECONDS)

    async def open(self, women: int) -> None:
        now_dt = datetime.now(timezone.utc)
        # a PostgreSQL database has no file beside it: the configuration's default key file
        async with await Store.open(self.db, key_file=self.home / "erasure.key") as store:
            schedule = ScheduleStore(store, load_programme(self.programme))
            for i in range(women):
                await schedule.enrol(woman_on(phone(i), now_dt), now_dt, actor="drill")
        self.tasks += [asyncio.create_task(self.watch.run()),
                       asyncio.create_task(self._read_status())]
        await asyncio.wait_for(self.watch.connected.wait(), 10)
        self.t0 = time.time()

    async def spawn(self, *args: str, tag: str) -> asyncio.subprocess.Process:
        log = self.work / f"{tag}.log"
        self.logs.append(log)
        with log.open("wb") as f:
            proc = await asyncio.create_subprocess_exec(*IVR, *args, cwd=ROOT, env=self.env,
                                                        stdout=f, stderr=f)
        self.procs.append(proc)
        return proc

    async def start_service(self, tag: str, *extra: str) -> asyncio.subprocess.Process:
        return await self.spawn("run", *extra, tag=tag)

    async def _read_status(self) -> None:
        """`ivr status --json`'s service part: the running service's status file."""
        path = self.home / "run" / "status.json"
        while True:
            try:
                self.status = json.loads(path.read_text())
                for name, t in self.status.get("trunks", {}).items():
                    if t.get("resting_until") and name not in self.rested:
                        self.rested.append(name)
            except (OSError, ValueError):
                pass
            await asyncio.sleep(0.5)

    async def until(self, predicate, timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not await predicate():
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise RuntimeError(f"{self.name}: no {what} within {timeout:.0f} s") from None

    async def calls_in_flight(self, extra=lambda: True) -> None:
        """Wait until some calls ring and some are answered and playing."""
        need = 2 if len(RINGS) * 2 <= self.women else 1

        async def ready():
            self.check_alive()
            now = time.time()
            return (len(self.watch.ringing()) >= need
                    and len(self.watch.playing(self.message_end, now)) >= need and extra())
        await self.until(ready, TRIGGER_TIMEOUT, "calls ringing and playing at once")
        self.live_at_failure = (len(self.watch.ringing()), len(self.watch.answered()))

    def check_alive(self) -> None:
        """A subprocess that failed, or our AMI listener or status reader that broke, ends
        the drill (never a silent count of nothing)."""
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"{task.get_coro().__qualname__} failed: {task.exception()!r}")
        for proc, log in zip(self.procs, self.logs, strict=True):
            if proc.returncode not in (None, 0, -signal.SIGKILL, 1):
                raise RuntimeError(f"{log.name} exited {proc.returncode}: "
                                   f"{log.read_text(errors='replace')[-1500:]}")

    async def finish_campaign(self) -> None:
        async def done():
            self.check_alive()
            return await asyncio.to_thread(campaign_done, self.db, time.time())
        await self.until(done, CAMPAIGN_TIMEOUT, "end of the campaign")

    async def stop(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"{self.name}: `ivr run` did not stop within {STOP_TIMEOUT:.0f} s "
                               "of SIGTERM") from None

    def first_originate_after(self, at: float) -> float | None:
        rows = store_rows(self.db, "SELECT MIN(started_at) FROM attempts WHERE started_at > ?",
                          (at,))
        return rows[0][0] - at if rows and rows[0][0] is not None else None

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def log_lines(self, limit: int = 14) -> list[str]:
        """The WARNING and ERROR lines of every process the drill ran (phones masked there)."""
        lines = []
        for log in self.logs:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith(("WARNING", "ERROR", "CRITICAL", "Error", "Traceback")):
                    lines.append(f"{log.stem}: {line[:220]}")
        return lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])


