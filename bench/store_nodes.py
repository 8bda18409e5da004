"""Several nodes on one PostgreSQL store, for bench/store_scale.py: N processes (not tasks:
each its own Python, its own connection pool), started together at a barrier.

  - claims(): each node claims 500 due calls at the same instant (the slot opening) over and
    over and releases each call it got (no answer), like `ivr run` on N machines;
  - plans(): each node plans its share of the women (id modulo N): plan_each(), or
    plan_sets.plan_by_cases() with by_cases.

Each node reports its timings and its own peak memory (ru_maxrss).
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.adapters import plan_sets  # noqa: E402
from ivr.adapters.pg_store import PgStore  # noqa: E402
from ivr.adapters.schedule_store import ScheduleStore  # noqa: E402
from scheduler.outcome import Outcome  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spread(ms: list[float]) -> dict:
    """p50 / p95 / max of a list of milliseconds (p95: the nearest rank)."""
    if not ms:
        return {"n": 0}
    s = sorted(ms)
    return {"n": len(s), "p50_ms": round(statistics.median(s), 1),
            "p95_ms": round(s[max(0, -(-95 * len(s) // 100) - 1)], 1), "max_ms": round(s[-1], 1)}


async def _claims(dsn: str, node: int, now: datetime, n: int, barrier: Any) -> dict:
    store = await PgStore.open(dsn, pool_size=2)
    try:
        sched = ScheduleStore(store, load_programme("mmitra"))
        await sched.claim(now - timedelta(days=30), f"warm-{node}", 1)   # nothing due then
        barrier.wait()
        every, full, release, got = [], [], [], 0
        for _ in range(n):
            t = time.perf_counter()
            batch = await sched.claim(now, f"node-{node}", 500)
            every.append((time.perf_counter() - t) * 1000)
            got += len(batch)
            if len(batch) == 500:
                full.append(every[-1])
            t = time.perf_counter()
            for a in batch:
                await sched.release(a.id, Outcome.NO_ANSWER, None, now + timedelta(seconds=40))
            release.append((time.perf_counter() - t) / max(len(batch), 1) * 1000)
        return {"node": node, "claims": len(every), "claimed": got, "full_batches": len(full),
                "every_ms": every, "release_ms_per_call": round(statistics.median(release), 3),
                "peak_rss_mb": round(rss_mb())}
    finally:
        await store.close()


async def _plan(dsn: str, share: tuple[int, int], now: datetime, barrier: Any,
                by_cases: bool) -> dict:
    store = await PgStore.open(dsn, pool_size=2)
    try:
        programme = load_programme("mmitra")
        sched = ScheduleStore(store, programme)
        barrier.wait()
        t, cpu = time.perf_counter(), time.process_time()
        if by_cases:                # the set-based path (ivr/adapters/plan_sets.py)
            n = await plan_sets.plan_by_cases(store, programme, now, share=share)
        else:
            n = await sched.plan_each(now, share=share)
        return {"node": share[0], "women_planned": n,
                "seconds": round(time.perf_counter() - t, 1),
                "cpu_seconds": round(time.process_time() - cpu, 1), "peak_rss_mb": round(rss_mb())}
    finally:
        await store.close()


def _claims_node(dsn: str, node: int, now: datetime, n: int, barrier: Any, out: Any) -> None:
    out.put(asyncio.run(_claims(dsn, node, now, n, barrier)))


def _plan_node(dsn: str, share: tuple[int, int], now: datetime, by_cases: bool, barrier: Any,
               out: Any) -> None:
    out.put(asyncio.run(_plan(dsn, share, now, barrier, by_cases)))


def _run(target: Any, args_of: Any, nodes: int) -> tuple[list[dict], float]:
    """Start `nodes` processes (spawned: no connection pool crosses a fork), release them
    together at a barrier; their results and the wall time from the barrier to the last."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(nodes + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_of(k), barrier, out)) for k in range(nodes)]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    t = time.perf_counter()
    results = [out.get(timeout=3600) for _ in procs]
    wall = time.perf_counter() - t
    for p in procs:
        p.join(timeout=60)
        if p.exitcode:
            raise SystemExit(f"a node process exited with {p.exitcode}")
    return sorted(results, key=lambda r: r["node"]), wall


def claims(dsn: str, now: datetime, nodes: int, n: int) -> dict:
    """`nodes` processes claim 500 at `now`, `n` times each, at once."""
    results, wall = _run(_claims_node, lambda k: (dsn, k, now, n), nodes)
    every = [ms for r in results for ms in r["every_ms"]]
    per_node = [{**{k: v for k, v in r.items() if k != "every_ms"}, **spread(r["every_ms"])}
                for r in results]
    return {"nodes": nodes, "claims_per_node": n, "seconds": round(wall, 1),
            "claimed": sum(r["claimed"] for r in results), "overall": spread(every),
            "per_node": per_node}


def plans(dsn: str, now: datetime, nodes: int, by_cases: bool = False) -> dict:
    """plan_each(now) (by_cases: plan_sets.plan_by_cases) split into `nodes` shares, one
    process each, at once."""
    results, wall = _run(_plan_node, lambda k: (dsn, (k, nodes), now, by_cases), nodes)
    n = sum(r["women_planned"] for r in results)
    return {"nodes": nodes, "women_planned": n, "seconds": round(wall, 1),
            "women_per_s": round(n / wall) if wall else None, "per_node": results}
