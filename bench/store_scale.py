"""The SQLite scheduling store at programme scale (issue 3): millions of women.

    .venv/bin/python bench/store_scale.py --women 2500000            # mMitra's reach
    .venv/bin/python bench/store_scale.py --women 10000000 --keep    # Kilkari's scale

Builds (or, with --keep and a database of the right size, reuses) a store of fake women
(phones 9199xxxxxxxx, not allocated) enrolled with enrol_many() in batches, then measures on
day D (a Tuesday, Asia/Kolkata):
  - bulk enrolment rate (women/s);
  - claims of 500 due calls at 09:00 when the 09-12 slot opens (p50, max over --claims);
    their release (no answer); next_wake();
  - claims at 12:00, when the 12-15 slot opens and the 09-12 calls not placed are still due;
  - the next day's plan: run_plans() over every woman whose plan_at falls on day D+1;
  - claims at 09:00 on D+1 (a day of leftovers behind the new messages);
  - peak memory (ru_maxrss) of this process.
Targets: claim <= 50 ms, a day's plan <= 10 s, peak memory <= 500 MB.
The database goes under /tmp (never the repository). Figures print as one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import store_nodes  # noqa: E402
from bench.store_nodes import rss_mb  # noqa: E402
from ivr.adapters.pg_sql import masked  # noqa: E402
from ivr.adapters.pg_store import PgStore  # noqa: E402
from ivr.adapters.schedule_store import Enrolment, ScheduleStore  # noqa: E402
from ivr.adapters.store import Store  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402
from scheduler.model import Subscriber  # noqa: E402
from scheduler.outcome import Outcome  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402

IST = timedelta(hours=5, minutes=30)
DAY = datetime(2026, 11, 24, tzinfo=timezone.utc) - IST      # local midnight beginning day D


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Local (Kolkata) wall-clock time on day D + day, as a UTC instant."""
    return DAY + timedelta(days=day, hours=hour, minutes=minute)


def women(first: int, count: int, seed: int) -> list[Enrolment]:
    """Fake women: 60% pregnant (LMP 4-40 weeks ago), 40% mothers (child 0-330 days old),
    four languages, four slots."""
    rnd = random.Random(seed)
    today = at(0, 7, 30).date()
    out = []
    for n in range(first, first + count):
        slot = ("09-12", "12-15", "15-18", "18-21")[n % 4]
        lang = ("hi", "mr", "gu", "en")[rnd.randrange(4)]
        sub = Subscriber(id=0, phone=f"9199{n:08d}", language=lang, slot=slot)
        if rnd.random() < 0.6:
            sub.lmp = today - timedelta(days=rnd.randint(28, 280))
        else:
            sub.child_dob = today - timedelta(days=rnd.randint(0, 330))
        out.append(Enrolment(sub, partner=f"hospital-{n % 97}"))
    return out


async def timed(coro):
    t = time.perf_counter()
    result = await coro
    return result, time.perf_counter() - t


async def enrol_all(sched: ScheduleStore, total: int, batch: int, have: int = 0) -> dict:
    """Enrol women number `have` to `total` (the same women as a build from 0)."""
    start, times = time.perf_counter(), []
    for first in range(have, total, batch):
        rows = women(first, min(batch, total - first), seed=first)
        _, dt = await timed(sched.enrol_many(rows, at(0, 7, 30), actor="bench"))
        times.append(dt)
        done = first + len(rows)
        if done % (20 * batch) == 0 or done == total:
            el = time.perf_counter() - start
            print(f"  enrolled {done:,} in {el:.0f} s ({(done - have) / el:,.0f}/s), "
                  f"rss {rss_mb():.0f} MB",
                  file=sys.stderr, flush=True)
    el = time.perf_counter() - start
    return {"women": total - have, "seconds": round(el, 1),
            "women_per_s": round((total - have) / el), "had": have,
            "batch": batch, "batch_p50_ms": round(statistics.median(times) * 1000),
            "batch_max_ms": round(max(times) * 1000)}


async def claims(sched: ScheduleStore, now: datetime, n: int, release: bool) -> dict:
    """Claim batches of 500 at `now` until n full batches came back. A claim that finds
    calls of a closed slot moves them (MOVE_BATCH at a time) and may come back short: the
    time until the first full batch is the stall at a slot change."""
    due = (await sched.store.fetchall(
        "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?",
        (now.timestamp(),)))[0][0]
    full, every, rel, got, stall = [], [], [], 0, None
    start = time.perf_counter()
    for _ in range(n + 1000):
        batch, dt = await timed(sched.claim(now, "bench", 500))
        every.append(dt * 1000)
        got += len(batch)
        if len(batch) == 500:
            full.append(dt * 1000)
            if stall is None:
                stall = time.perf_counter() - start - dt
        if release:
            t = time.perf_counter()
            for a in batch:
                await sched.release(a.id, Outcome.NO_ANSWER, None, now + timedelta(seconds=40))
            rel.append((time.perf_counter() - t) / max(len(batch), 1) * 1000)
        if len(full) == n:
            break
    _, wake = await timed(sched.next_wake())
    out = {"due_before": due, "claims": len(every), "claimed": got,
           "stall_before_first_full_batch_s": round(stall or 0.0, 2),
           "full_batch_p50_ms": round(statistics.median(full), 1) if full else None,
           "full_batch_p95_ms": store_nodes.spread(full).get("p95_ms"),
           "full_batch_max_ms": round(max(full), 1) if full else None,
           "longest_claim_ms": round(max(every), 1), "next_wake_ms": round(wake * 1000, 1)}
    if rel:
        out["release_ms_per_call"] = round(statistics.median(rel), 3)
    return out


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) // 1024 for ln in Path("/proc/meminfo").read_text()
                .splitlines() if ln.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_mb": mem,
            "python": platform.python_version()}


class Figures(dict):
    """The bench's output; each figure is also printed to stderr as it is measured (a run
    cut short keeps what it measured)."""

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        print(f"  {key}: {json.dumps(value)} (load {os.getloadavg()[0]:.1f})", file=sys.stderr,
              flush=True)


async def measure(sched: ScheduleStore, args, out: dict) -> None:
    """The measures of one node on the working copy (they change it)."""
    out["claim_0900"] = await claims(sched, at(0, 9), args.claims, release=True)
    if isinstance(sched.store, PgStore) and args.nodes:
        out[f"claim_0900_{args.nodes}_nodes"] = store_nodes.claims(
            sched.store.dsn, at(0, 9), args.nodes, args.claims)
    if args.claims_only:           # bench/compare.py: only the claim at the slot opening
        return
    if not args.no_slot_changes:
        out["claim_1200"] = await claims(sched, at(0, 12), args.claims, release=False)
    cpu = time.process_time()
    n, dt = await timed(sched.run_plans(at(1, 23, 59)))
    out["day_plan"] = {"women_planned": n, "seconds": round(dt, 1),
                       "cpu_seconds": round(time.process_time() - cpu, 1),
                       "women_per_s": round(n / dt) if dt else None}
    if not args.no_slot_changes:
        out["claim_0900_next_day"] = await claims(sched, at(1, 9), args.claims,
                                                  release=False)


async def build(sched: ScheduleStore, args, out: dict) -> None:
    """Enrol --women women into an empty store, or (--keep) the women it lacks: a store
    built for 2.5 M grows to 10 M with the same women as a build from 0."""
    have = (await sched.store.fetchall("SELECT COUNT(*) FROM subscribers"))[0][0]
    if have == 0 or (args.keep and have < args.women and have % args.batch == 0):
        out["enrol"] = await enrol_all(sched, args.women, args.batch, have)
        if isinstance(sched.store, PgStore):       # what autovacuum would do after a while
            _, dt = await timed(sched.store.execute("VACUUM ANALYZE"))
            out["enrol"]["vacuum_analyze_s"] = round(dt, 1)
    elif have != args.women:
        raise SystemExit(f"{sched.store} holds {have:,} women, not {args.women:,}: drop --keep")
    else:
        out["enrol"] = "reused"


async def on_sqlite(args, out: dict) -> None:
    path = Path(args.db)
    programme = load_programme("mmitra")
    out["machine"]["sqlite"] = sqlite3.sqlite_version
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = await Store.open(path)
    try:
        sched = ScheduleStore(store, programme)
        await build(sched, args, out)
        if args.build_only:
            return
        if args.keep:                     # the measures below change it: work on a copy
            await store.close()
            work = path.with_name(path.stem + "-work.db")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(path, work)       # closed: its WAL is checkpointed into it
            store = await Store.open(work)
            sched = ScheduleStore(store, programme)
        out["db_mb"] = round(path.stat().st_size / 2**20)
        await measure(sched, args, out)
    finally:
        await store.close()


async def pg_size_mb(store: Store) -> int:
    size = (await store.fetchall("SELECT pg_database_size(current_database())"))[0][0]
    return round(size / 2**20)


async def on_postgres(args, out: dict) -> None:
    """--pg: a private durable cluster (under /tmp/ivr-pg-scale/<women> with --keep, reused
    by the next --keep run; else a temporary one, removed at the end); the women are built
    in database `scale` and measured on a copy (`work`, made from it as a template). --db
    postgresql://...: that database, measured in place (no copy)."""
    programme = load_programme("mmitra")
    cluster = None
    if args.pg:
        base = Path(args.cluster or f"/tmp/ivr-pg-scale/{args.women}") if args.keep else None
        cluster = Cluster.reuse(base) if base and base.exists() else \
            Cluster.start(durable=True, base=base)
        out["cluster"] = str(cluster.base)
    try:
        dsn = args.db
        if cluster:
            dsn = cluster.dsn("scale") if "scale" in cluster.databases() else \
                cluster.create_database("scale")
        out["machine"]["postgresql"] = await _server_version(dsn)
        store = await PgStore.open(dsn, pool_size=2)
        try:
            await build(ScheduleStore(store, programme), args, out)
            out["db_mb"] = await pg_size_mb(store)
        finally:
            await store.close()
        if args.build_only:
            return
        if cluster:
            cluster.drop_database("work")
            t = time.perf_counter()
            dsn = cluster.create_database("work", template="scale")
            out["copy_s"] = round(time.perf_counter() - t, 1)
        store = await PgStore.open(dsn, pool_size=2)
        try:
            await measure(ScheduleStore(store, programme), args, out)
        finally:
            await store.close()
        if cluster and args.plan_nodes and not args.claims_only:    # the plan again, split
            cluster.drop_database("work")
            dsn = cluster.create_database("work", template="scale")
            out[f"day_plan_{args.plan_nodes}_nodes"] = store_nodes.plans(   # as run_plans
                dsn, at(1, 23, 59), args.plan_nodes, by_cases=True)
        if cluster:
            cluster.drop_database("work")
    finally:
        if cluster and not args.keep:
            cluster.remove()


async def _server_version(dsn: str) -> str:
    store = await PgStore.open(dsn, pool_size=1, read_only=False)
    try:
        return str((await store.fetchall("SHOW server_version"))[0][0])
    finally:
        await store.close()


async def main(args) -> dict:
    out = Figures(machine=machine(), db="--pg" if args.pg else masked(args.db),
                  load_before=os.getloadavg())
    try:
        if args.pg or args.db.startswith(("postgresql://", "postgres://")):
            await on_postgres(args, out)
        else:
            await on_sqlite(args, out)
    finally:
        out["peak_rss_mb"] = round(rss_mb())
        out["load_after"] = os.getloadavg()
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--women", type=int, default=2_500_000)
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--claims", type=int, default=40)
    p.add_argument("--db", default="/tmp/ivr-store-scale/ivr.db",
                   help="the SQLite file, or a postgresql://... connection string")
    p.add_argument("--pg", action="store_true",
                   help="PostgreSQL: a private durable cluster under /tmp (removed at the end "
                        "unless --keep)")
    p.add_argument("--keep", action="store_true",
                   help="reuse the database (or --pg cluster) if it holds --women women "
                        "(measure on a copy)")
    p.add_argument("--cluster", help="with --pg --keep: the cluster's directory (default "
                                     "/tmp/ivr-pg-scale/<women>)")
    p.add_argument("--nodes", type=int, default=4,
                   help="PostgreSQL: node processes claiming at once (0: none)")
    p.add_argument("--plan-nodes", type=int, default=4,
                   help="PostgreSQL with --pg: node processes sharing the day plan (0: none)")
    p.add_argument("--build-only", action="store_true",
                   help="with --keep: build the database (or check it) and measure nothing")
    p.add_argument("--no-slot-changes", action="store_true",
                   help="skip the claims at 12:00 and on D+1 (the moves of unplaced calls)")
    p.add_argument("--claims-only", action="store_true",
                   help="measure only the claims at 09:00 on day D (skip 12:00, plan, D+1)")
    result = asyncio.run(main(p.parse_args()))
    print(json.dumps(result, indent=2))
