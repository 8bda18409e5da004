"""Where a claim's time goes on PostgreSQL: auto_explain (ANALYZE, BUFFERS, WAL, triggers,
nested statements) on a fresh copy of a store built by bench/store_scale.py --pg --keep
(its database `scale`), for N claims of 500 at 09:00 on day D, each followed by the release
of its calls (no answer), as bench/pg_cost.py does. The plans of the last claim's statements
go to stdout (from the server's log); the cluster's settings that matter first.

    ip netns exec <ns> .venv/bin/python bench/claim_explain.py --cluster /tmp/ivr-pg-claim/c
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store_scale import at  # noqa: E402
from ivr.adapters.pg_store import PgStore  # noqa: E402
from ivr.adapters.schedule_store import ScheduleStore  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402
from scheduler.outcome import Outcome  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402

SETTINGS = ("shared_buffers", "effective_cache_size", "work_mem", "wal_buffers",
            "synchronous_commit", "fsync", "full_page_writes", "max_wal_size",
            "checkpoint_timeout", "random_page_cost", "autovacuum", "server_version")
EXPLAIN = {"session_preload_libraries": "auto_explain", "auto_explain.log_min_duration": "0",
           "auto_explain.log_analyze": "on", "auto_explain.log_buffers": "on",
           "auto_explain.log_wal": "on", "auto_explain.log_triggers": "on",
           "auto_explain.log_timing": "on", "auto_explain.log_nested_statements": "off"}


async def main(args) -> None:
    cluster = Cluster.reuse(Path(args.cluster))
    db = "explain_claims"
    cluster.drop_database(db)
    dsn = cluster.create_database(db, template="scale")
    store = await PgStore.open(dsn, pool_size=1)
    try:
        for name in SETTINGS:
            print(f"{name} = {(await store.fetchall(f'SHOW {name}'))[0][0]}")
        for k, v in EXPLAIN.items():
            await store.execute(f"ALTER DATABASE {db} SET {k} = '{v}'")
    finally:
        await store.close()
    store = await PgStore.open(dsn, pool_size=1)
    try:
        sched = ScheduleStore(store, load_programme("mmitra"))
        now = at(0, 9)
        log = cluster.log
        for _ in range(args.claims):
            mark = log.stat().st_size
            got = await sched.claim(now, "bench", 500)
            assert len(got) == 500
            text = log.read_bytes()[mark:].decode(errors="replace")
            for a in got:
                await sched.release(a.id, Outcome.NO_ANSWER, None, now + timedelta(seconds=40))
        print(f"--- the plans of claim {args.claims} (server log) ---")
        print(text)
    finally:
        await store.close()
        cluster.drop_database(db)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cluster", required=True, help="the cluster of store_scale.py --pg --keep")
    p.add_argument("--claims", type=int, default=3)
    asyncio.run(main(p.parse_args()))
