"""What one page of the day plan costs (`ivr run` plans `most` women a turn:
ScheduleStore.run_plans(now, most)), on a fresh copy of a store built by bench/store_scale.py
--pg --keep, with the code of --code (another checkout: the same measure before a change).
The copy is opened once first with that code (its migrations, VACUUM ANALYZE: untimed), then
--pages pages of --most women are planned at the end of day D+1, one after the other; for
each page its wall time and its server backend's CPU (/proc: run on the server's machine).

    ip netns exec <ns> .venv/bin/python bench/plan_pages.py --cluster /tmp/ivr-pg-plan10/c \\
        --pages 10 --code /tmp/before
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path


async def pages(dsn: str, args) -> dict:
    from bench.pg_cost import cpu_ms
    from bench.store_scale import at
    from ivr.adapters.pg_store import PgStore
    from ivr.adapters.schedule_store import ScheduleStore
    from scheduler.programme import load_programme

    store = await PgStore.open(dsn, pool_size=1)
    try:
        await store.execute("VACUUM ANALYZE")
        pid = (await store.fetchall("SELECT pg_backend_pid()"))[0][0]
        sched = ScheduleStore(store, load_programme("mmitra"))
        now, every = at(1, 23, 59), []
        for _ in range(args.pages):
            s0, t = cpu_ms(pid), time.perf_counter()
            n = await sched.run_plans(now, most=args.most)
            every.append({"women": n, "wall_ms": round((time.perf_counter() - t) * 1000),
                          "server_cpu_ms": round(cpu_ms(pid) - s0)})
        walls = [p["wall_ms"] for p in every]
        cpus = [p["server_cpu_ms"] for p in every]
        return {"pages": every, "wall_ms_median": statistics.median(walls),
                "server_cpu_ms_median": statistics.median(cpus)}
    finally:
        await store.close()


def main(args) -> dict:
    sys.path.insert(0, str(Path(args.code).resolve()))
    from ivr.sandbox.postgres import Cluster

    cluster = Cluster.reuse(Path(args.cluster))
    out: dict = {"code": str(args.code), "most": args.most, "load_before": os.getloadavg()}
    cluster.drop_database("plan_pages")
    dsn = cluster.create_database("plan_pages", template="scale")
    try:
        out["load_at_plan"] = os.getloadavg()
        out.update(asyncio.run(pages(dsn, args)))
    finally:
        cluster.drop_database("plan_pages")
    out["load_after"] = os.getloadavg()
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cluster", required=True)
    p.add_argument("--pages", type=int, default=10)
    p.add_argument("--most", type=int, default=20_000)
    p.add_argument("--code", default=str(Path(__file__).resolve().parent.parent))
    print(json.dumps(main(p.parse_args())), flush=True)
