"""Benchmark phase "ivr-run": the same batch placed by the `ivr run --until-idle` process, as an
operator runs it (the composition root, the configuration and the programme loaded by the
CLI), against the private sandbox Asterisk. Its CPU is the process's own (os.wait4: every
thread), per call placed; the CPU of an `ivr run --until-idle` with nothing to call (start-up
and shut-down) is measured the same way and given beside it.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from service_common import ROOT, proc_cpu, spread
from service_dialer import phones

from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.adapters.store import Store
from ivr.config import Config
from ivr.sandbox.run_home import run_env
from scheduler.programme import load_programme
from tests.e2e.run_helpers import woman_on

IVR = [sys.executable, "-c", "import cli; cli.main()"]


def write_home(home: Path, cfg: Config, limit: int, cps: float) -> None:
    """An IVR_HOME whose ivr.toml points `ivr run` at the private sandbox, our database,
    sounds and programme, with the one trunk `sim` of `limit` channels and `cps`."""
    home.mkdir(parents=True)
    (home / "ivr.toml").write_text(f"""
[ivr]
database = "{cfg.database}"
sounds = "{cfg.sounds}"
programme = "{cfg.programme}"
[ami]
host = "{cfg.ami.host}"
port = {cfg.ami.port}
username = "{cfg.ami.username}"
secret = "{cfg.ami.secret}"
[agi]
host = "{cfg.agi_host}"
port = {cfg.agi_port}
[[trunk]]
name = "sim"
dial = "Local/{{digits}}@sim-phones"
channels = {limit}
cps = {cps}
ring_timeout = 30
""")


async def enrol(cfg: Config, batch: int) -> None:
    async with await Store.open(cfg.database) as store:
        schedule = ScheduleStore(store, load_programme(cfg.programme))
        now = datetime.now(timezone.utc)
        await schedule.enrol_many([Enrolment(woman_on(p, now)) for p in phones(batch)], now,
                                  actor="bench")


def ivr_run(home: Path, timeout: float) -> dict:
    """`ivr run --until-idle` in `home`: wall, CPU and peak RSS of the process (blocking:
    os.wait4 needs the child to itself, which asyncio's child watcher would reap)."""
    env = run_env(home)
    began = time.time()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*IVR, "run", "--until-idle"], cwd=ROOT, env=env, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"ivr run took more than {timeout:.0f} s")
            time.sleep(0.05)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"ivr run exited {proc.returncode}: "
                               f"{err.read().decode()[-2000:]}")
    return {"wall_s": round(time.time() - began, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


async def run_ivr_run(cfg: Config, asterisk_pid: int, work: Path, batch: int, limit: int,
                      cps: float, timeout: float) -> dict:
    idle_cfg = replace(cfg, database=work / "ivr-run-idle.db")
    write_home(work / "ivr-run-idle", idle_cfg, limit, cps)
    await enrol(idle_cfg, 0)
    loop = asyncio.get_running_loop()
    idle = await loop.run_in_executor(None, ivr_run, work / "ivr-run-idle", 120)
    write_home(work / "ivr-run", cfg, limit, cps)
    await enrol(cfg, batch)
    ast0 = proc_cpu(asterisk_pid)
    busy = await loop.run_in_executor(None, ivr_run, work / "ivr-run", timeout)
    asterisk = proc_cpu(asterisk_pid) - ast0
    async with await Store.open(cfg.database) as store:
        rows = await store.fetchall("SELECT started_at, ended_at, outcome, heard_share "
                                    "FROM attempts")
    heard = sum(1 for r in rows if r["outcome"] == "answered"
                and (r["heard_share"] or 0) >= 0.99)
    starts = [r["started_at"] for r in rows if r["started_at"]]
    ends = [r["ended_at"] for r in rows if r["ended_at"]]
    calls = max(len(rows), 1)
    return {
        "method": "`ivr run --until-idle` (the CLI's process)", "batch": batch,
        "trunk": {"channels": limit, "cps": cps}, "attempts": len(rows),
        "failures": len(rows) - heard + max(batch - len(rows), 0),
        "completion_s": round(max(ends) - min(starts), 2) if starts and ends else None,
        "call_s": spread([r["ended_at"] - r["started_at"] for r in rows
                          if r["ended_at"] and r["started_at"]], 2),
        "process": busy, "idle_process": idle,
        "cpu_ms_per_call": round(1000 * busy["cpu_s"] / calls, 2),
        "cpu_ms_per_call_less_idle": round(1000 * (busy["cpu_s"] - idle["cpu_s"]) / calls, 2),
        "asterisk_cpu_ms_per_call": round(1000 * asterisk / calls, 2),
    }
