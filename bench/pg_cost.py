"""What a claim or a day plan costs on PostgreSQL, statement by statement, in figures a loaded
machine does not blur: the client's CPU, the server backend's CPU (/proc of its pid: the bench
runs on the server's machine), and the statements sent (each a round trip; BEGIN and COMMIT
not counted), beside the wall time. Runs on a fresh copy of a store built by
bench/store_scale.py --pg --keep (its database `scale`), with the code of --code (another
checkout: the same measure before a change).

    ip netns exec <ns> .venv/bin/python bench/pg_cost.py claims --cluster /tmp/ivr-pg-perf/c
    ip netns exec <ns> .venv/bin/python bench/pg_cost.py plan --cluster /tmp/ivr-pg-perf/c \\
        --code /tmp/before

claims: N claims of 500 at 09:00 on day D (the slot opening), each followed by the release
of its calls (no answer), as store_scale.py does; plan: run_plans() at the end of day D+1.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """user + system CPU of a process, in ms (clock ticks: 10 ms steps)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK * 1000


async def wal_at(store) -> int:
    """The cluster's WAL position, in bytes (the bench is alone on its cluster: what a
    claim wrote, its row locks, heap and index entries, is the difference)."""
    rows = await store.fetchall("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
    return int(rows[0][0])


def timed_statements(store, log: list) -> None:
    """Each statement the store sends: (its first 40 characters, ms) into log."""
    for name in ("fetchall", "execute", "copy_in", "executemany"):
        original = getattr(store, name)

        def wrap(original=original):
            async def f(*a, **k):
                t = time.perf_counter()
                r = await original(*a, **k)
                log.append((str(a[0])[:40], (time.perf_counter() - t) * 1000))
                return r
            return f
        setattr(store, name, wrap())


def by_statement(log: list) -> dict:
    per: dict[str, list[float]] = {}
    for sql, ms in log:
        per.setdefault(sql, []).append(ms)
    return {sql: {"n": len(v), "total_ms": round(sum(v), 1)} for sql, v in per.items()}


async def main(args) -> None:
    sys.path.insert(0, str(Path(args.code).resolve()))
    from bench.store_scale import at
    from ivr.adapters.pg_store import PgStore
    from ivr.adapters.schedule_store import ScheduleStore
    from ivr.sandbox.postgres import Cluster
    from scheduler.outcome import Outcome
    from scheduler.programme import load_programme

    cluster = Cluster.reuse(Path(args.cluster))
    db = args.db or f"cost_{args.what}"
    cluster.drop_database(db)
    store = await PgStore.open(cluster.create_database(db, template=args.template),
                              pool_size=1)
    out: dict = {"code": str(args.code), "load_before": os.getloadavg()}
    try:
        pid = (await store.fetchall("SELECT pg_backend_pid()"))[0][0]
        log: list = []
        timed_statements(store, log)
        sched = ScheduleStore(store, load_programme("mmitra"))
        now = at(0, 9)
        if args.what == "plan":
            s0, c0, t = cpu_ms(pid), time.process_time(), time.perf_counter()
            n = await sched.run_plans(at(1, 23, 59))
            wall = time.perf_counter() - t
            out.update(women_planned=n, wall_s=round(wall, 1), women_per_s=round(n / wall),
                       client_cpu_s=round(time.process_time() - c0, 1),
                       server_cpu_s=round((cpu_ms(pid) - s0) / 1000, 1),
                       statements=len(log), by_statement=by_statement(log))
        else:
            await sched.claim(now - timedelta(days=30), "warm", 1)     # nothing due then
            wall, client, server, sent, wal = [], [], [], [], []
            released = {"wall": 0.0, "client": 0.0, "server": 0.0, "calls": 0}
            claims_log: list = []
            for _ in range(args.claims):
                w0 = await wal_at(store)
                log.clear()
                s0, c0, t = cpu_ms(pid), time.process_time(), time.perf_counter()
                got = await sched.claim(now, "bench", 500)
                wall.append((time.perf_counter() - t) * 1000)
                client.append((time.process_time() - c0) * 1000)
                server.append(cpu_ms(pid) - s0)
                sent.append(len(log))
                wal.append(await wal_at(store) - w0)
                claims_log += log
                assert len(got) == 500
                s0, c0, t = cpu_ms(pid), time.process_time(), time.perf_counter()
                for a in got:
                    await sched.release(a.id, Outcome.NO_ANSWER, None, now + timedelta(seconds=40))
                released["wall"] += (time.perf_counter() - t) * 1000
                released["client"] += (time.process_time() - c0) * 1000
                released["server"] += cpu_ms(pid) - s0
                released["calls"] += len(got)
            s = sorted(wall)
            out.update(claims=args.claims, wall_p50_ms=round(statistics.median(s), 1),
                       wall_p95_ms=round(s[max(0, -(-95 * len(s) // 100) - 1)], 1),
                       client_cpu_ms_mean=round(statistics.mean(client), 1),
                       server_cpu_ms_mean=round(statistics.mean(server), 1),
                       statements_per_claim=statistics.median(sent),
                       wal_kb_per_claim=round(statistics.mean(wal) / 1024, 1),
                       release_ms_per_call={k: round(released[k] / released["calls"], 2)
                                            for k in ("wall", "client", "server")},
                       by_statement=by_statement(claims_log))
    finally:
        await store.close()
        cluster.drop_database(db)
    out["load_after"] = os.getloadavg()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("claims", "plan"))
    p.add_argument("--cluster", required=True, help="the cluster of store_scale.py --pg --keep")
    p.add_argument("--code", default=str(Path(__file__).resolve().parent.parent),
                   help="the checkout whose code runs (default: this one)")
    p.add_argument("--claims", type=int, default=20)
    p.add_argument("--db", help="the copy's name (default cost_<what>)")
    p.add_argument("--template", default="scale",
                   help="the database copied (default: store_scale.py's `scale`)")
    asyncio.run(main(p.parse_args()))
