"""enrol_many into PostgreSQL with the code of a checkout (run it once per checkout, in
turn, for a side-by-side): N more women of store_scale.py's kind, B per call, into database
`p` of a private cluster (made at the first run, then grown); women/s, client CPU, load.

    ip netns exec <ns> .venv/bin/python bench/enrol_side_by_side.py <checkout> 50000 10000 \\
        [--cluster /tmp/plan-work/prof]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path


async def main(args) -> dict:
    sys.path.insert(0, str(Path(args.code).resolve()))
    from bench.store_scale import at, women
    from ivr.adapters.pg_store import PgStore
    from ivr.adapters.schedule_store import ScheduleStore
    from ivr.sandbox.postgres import Cluster
    from scheduler.programme import load_programme

    base = Path(args.cluster)
    cluster = Cluster.reuse(base) if base.exists() else Cluster.start(durable=True, base=base)
    dsn = cluster.dsn("p") if "p" in cluster.databases() else cluster.create_database("p")
    store = await PgStore.open(dsn, pool_size=2)
    try:
        sched = ScheduleStore(store, load_programme("mmitra"))
        have = (await store.fetchall("SELECT COUNT(*) FROM subscribers"))[0][0]
        rows = [women(have + i, args.batch, seed=have + i)
                for i in range(0, args.women, args.batch)]
        load = os.getloadavg()[0]
        t, cpu = time.perf_counter(), time.process_time()
        for batch in rows:
            await sched.enrol_many(batch, at(0, 7, 30), actor="bench")
        wall = time.perf_counter() - t
        return {"code": str(args.code), "had": have, "women": args.women, "batch": args.batch,
                "seconds": round(wall, 2), "women_per_s": round(args.women / wall),
                "client_cpu_s": round(time.process_time() - cpu, 2),
                "load": [load, os.getloadavg()[0]]}
    finally:
        await store.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("code")
    p.add_argument("women", type=int)
    p.add_argument("batch", type=int)
    p.add_argument("--cluster", default="/tmp/ivr-pg-enrol-sbs")
    print(json.dumps(asyncio.run(main(p.parse_args()))))
