"""EXPLAIN (ANALYZE, BUFFERS, WAL) of each statement of one chunk of the day plan by cases
(plan_sets._chunk) on a copy of a store built by bench/store_scale.py --pg --keep, the
chunk that starts after the first --skip women due, rolled back at the end (the copy is
left as it was). With the backend's CPU for each statement (/proc: run on the server's
machine). Where a chunk's time goes, statement by statement.

    ip netns exec <ns> .venv/bin/python bench/plan_explain.py \\
        --dsn 'postgresql:///dev?host=/tmp/ivr-pg-plan10/c/run&port=5432&user=postgres' \\
        --skip 2000000
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pg_cost import cpu_ms  # noqa: E402
from bench.store_scale import at  # noqa: E402
from ivr.adapters import plan_sets  # noqa: E402
from ivr.adapters.columns import epoch  # noqa: E402
from ivr.adapters.pg_store import PgStore  # noqa: E402
from ivr.adapters.schedule_bulk import Planner  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402

EXPLAINED = ("CREATE TEMP TABLE plan_women", "UPDATE", "INSERT INTO deliveries")


class Rollback(Exception):
    """Ends the transaction so that nothing of the chunk stays."""


async def main(args) -> None:
    store = await PgStore.open(args.dsn, pool_size=1)
    now = at(1, 23, 59)
    try:
        pid = (await store.fetchall("SELECT pg_backend_pid()"))[0][0]
        rows = await store.fetchall(
            "SELECT plan_at, id FROM subscribers WHERE plan_at IS NOT NULL AND plan_at <= ? "
            "ORDER BY plan_at, id OFFSET ? LIMIT 1", (epoch(now), max(args.skip - 1, 0)))
        after = (float("-inf"), 0) if args.skip == 0 else (float(rows[0][0]), int(rows[0][1]))
        programme = load_programme(args.programme)
        execute = store.execute

        async def explained(sql: str, params=()):
            if not sql.startswith(EXPLAINED):
                return await execute(sql, params)
            cpu, t = cpu_ms(pid), time.perf_counter()
            plan = await store.fetchall(f"EXPLAIN (ANALYZE, BUFFERS, WAL) {sql}", params)
            print(f"== {sql[:60]}\n   wall {(time.perf_counter() - t) * 1000:.0f} ms, "
                  f"server CPU {cpu_ms(pid) - cpu:.0f} ms")
            print("\n".join(r[0] for r in plan), flush=True)
            return None
        store.execute = explained  # type: ignore[method-assign]
        try:
            async with store.transaction():
                for setting in args.set:
                    await execute(f"SET LOCAL {setting}")
                n, _ = await plan_sets._chunk(store, Planner(programme, now), now,
                                              " AND s.programme = ?", [programme.name],
                                              after, args.chunk)
                print(f"chunk of {n} women after {after}")
                raise Rollback
        except Rollback:
            pass
    finally:
        await store.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dsn", required=True)
    p.add_argument("--skip", type=int, default=0, help="women due before the chunk")
    p.add_argument("--chunk", type=int, default=plan_sets.CHUNK)
    p.add_argument("--programme", default="mmitra")
    p.add_argument("--set", action="append", default=[], help="a SET LOCAL, e.g. "
                   "'enable_mergejoin = off' (repeatable)")
    asyncio.run(main(p.parse_args()))
