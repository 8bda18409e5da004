"""The day plan, per-woman path (ScheduleStore.plan_each) beside the set-based one
(plan_sets.plan_by_cases), on ONE copy of a store (issue 14):

    .venv/bin/python bench/plan_side_by_side.py --db postgresql:///work?host=... --shares 4

The women due are split into --shares shares by id (k modulo n); the paths take the shares
in turn (old, new, old, new... or new first with --new-first), so each runs on the same
store, at the same load, over as many women (each share is planned once). Figures: per
share, women, wall seconds, this process's CPU seconds, the server backend's CPU seconds
(from /proc of its pid, same machine), and the load.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store_scale import at  # noqa: E402
from ivr.adapters import plan_sets  # noqa: E402
from ivr.adapters.pg_store import PgStore  # noqa: E402
from ivr.adapters.schedule_store import ScheduleStore  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402


def server_cpu(pid: int) -> float:
    """utime + stime of a server process, seconds (same machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(args) -> list[dict]:
    programme = load_programme("mmitra")
    store = await PgStore.open(args.db, pool_size=1)      # one connection: one backend
    out = []
    try:
        pid = (await store.fetchall("SELECT pg_backend_pid()"))[0][0]
        sched = ScheduleStore(store, programme)
        now = at(1, 23, 59)
        for k in range(args.shares):
            new = (k % 2 == 0) == args.new_first
            load = os.getloadavg()[0]
            t, cpu, srv = time.perf_counter(), time.process_time(), server_cpu(pid)
            if new:
                n = await plan_sets.plan_by_cases(store, programme, now, share=(k, args.shares))
            else:
                n = await sched.plan_each(now, share=(k, args.shares))
            dt = time.perf_counter() - t
            row = {"share": k, "path": "by_cases" if new else "plan_each", "women": n,
                   "seconds": round(dt, 1), "women_per_s": round(n / dt) if dt else None,
                   "client_cpu_s": round(time.process_time() - cpu, 1),
                   "server_cpu_s": round(server_cpu(pid) - srv, 1),
                   "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}
            print(json.dumps(row), file=sys.stderr, flush=True)
            out.append(row)
    finally:
        await store.close()
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="a postgresql://... store (it is changed)")
    p.add_argument("--shares", type=int, default=4)
    p.add_argument("--new-first", action="store_true")
    print(json.dumps(asyncio.run(main(p.parse_args())), indent=2))
