"""Benchmark: `ivr report` over a million calls.

Generates a fake store (fake numbers only: +91 90000xxxxx; never real data): WOMEN women
over four partners, four languages and the four slots, and about CALLS calls spread over
90 days (scheduled attempts 1..9 per message, answered ~55%, listening spread 0..1,
callbacks and missed calls), then times the report (the table, --json and --html) as a
fresh `ivr report` process, each run.

    .venv/bin/python bench/report_bench.py --calls 1000000 --runs 3
    .venv/bin/python bench/report_bench.py --pg --women 500000 --calls 10000000 --runs 3

--pg: the same rows in a private durable PostgreSQL cluster (written through
Store.insert_rows, COPY), the report run with IVR_DATABASE set to it; --db postgresql://...:
an empty database of yours.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.adapters.store import Store  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402

OUTCOMES = (["answered"] * 55 + ["no_answer"] * 20 + ["busy"] * 10 + ["unreachable"] * 8
            + ["congestion"] * 3 + ["rejected"] * 2 + ["failed"] * 1 + ["invalid_number"] * 1)
LANGS, SLOTS = ("hi", "mr", "gu", "en"), ("09-12", "12-15", "15-18", "18-21")
PARTNERS = ("KEM Hospital", "Sion Hospital", "NGO Sakhi", "NGO Asha")
DAY = 86400.0


# the tables in the order of fake_rows()'s lists, and their columns
TABLES = (
    ("subscribers", ("id", "phone", "name", "language", "slot", "timezone", "programme", "track",
                     "lmp", "edd", "partner", "health_worker", "consent_date", "status",
                     "status_reason", "enrolled_at", "updated_at")),
    ("deliveries", ("id", "subscriber_id", "message_key", "slot", "due_at", "status")),
    ("attempts", ("id", "delivery_id", "subscriber_id", "number", "kind", "phone", "language",
                  "message_key", "created_at", "started_at", "answered_at", "ended_at",
                  "outcome", "heard_share", "plays")),
    ("callback_requests", ("id", "subscriber_id", "requested_at", "status", "served_at")),
    ("missed_calls", ("phone", "received_at", "subscriber_id", "callback_id")))


def fake_rows(women: int, calls: int, seed: int = 1, end: float | None = None,
              chunk: int = 10_000):
    """The rows of each table, `chunk` women at a time (one random stream: the same rows
    whatever the chunk)."""
    rnd = random.Random(seed)
    end = end or time.time()
    start = end - 90 * DAY
    subs, dels, atts, cbs, missed = [], [], [], [], []
    per_woman = calls / women * 1.08       # some calls fall past the end and are dropped
    aid = did = cid = 0
    for sid in range(1, women + 1):
        enrolled = start + rnd.random() * 30 * DAY
        status = rnd.choices(["active", "opted_out", "deactivated", "paused"], [90, 4, 5, 1])[0]
        reason = {"opted_out": "by_user", "deactivated": rnd.choice(
            ["invalid_number", "miscarriage", "weeks_unanswered"]), "paused": "paused"}.get(status)
        subs.append((sid, f"9190000{sid:05d}"[-12:], f"स्त्री {sid}", rnd.choice(LANGS),
                     rnd.choice(SLOTS), "Asia/Kolkata", "mmitra", "pregnancy", None,
                     "2027-01-01", rnd.choice(PARTNERS), "worker", "2026-01-01", status, reason,
                     enrolled, enrolled))
        quiet = rnd.random() < 0.1                     # her phone goes quiet
        n = max(1, int(rnd.expovariate(1 / per_woman)))
        t = enrolled
        number = k = 0
        for _ in range(n):
            if number == 0 or rnd.random() < 0.6:
                did += 1
                number = 0
                k += 1
                dels.append((did, sid, f"mmitra-p{k:03d}", subs[-1][4], t, "delivered"))
            number += 1
            t += rnd.random() * 2 * DAY
            if t >= end:
                break
            outcome = "no_answer" if quiet and t > enrolled + 30 * DAY else rnd.choice(OUTCOMES)
            heard = rnd.random() if outcome == "answered" else None
            aid += 1
            # one answered call in ten replayed (from the id: the random stream stays as it was)
            plays = (2 if aid % 10 == 0 else 1) if outcome == "answered" else None
            atts.append((aid, did, sid, min(number, 9), "scheduled", subs[-1][1], subs[-1][3],
                         dels[-1][2], t, t + 1, t + 10 if outcome == "answered" else None,
                         t + 60, outcome, heard, plays))
            if outcome == "answered":
                number = 0
            if outcome != "answered" and rnd.random() < 0.03:
                cid += 1
                served = rnd.random() < 0.8
                cbs.append((cid, sid, t + 120, "served" if served else "expired",
                            t + 120 + rnd.random() * 3600 if served else None))
                missed.append((subs[-1][1], t + 120, sid, cid))
        if sid % chunk == 0 or sid == women:
            yield subs, dels, atts, cbs, missed
            subs, dels, atts, cbs, missed = [], [], [], [], []


def generate(db: Path, women: int, calls: int, seed: int = 1, end: float | None = None) -> int:
    """A fake SQLite store (written with sqlite3, synchronous off); the number of calls."""
    asyncio.run(_migrate(db))
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    n = 0
    for rows in fake_rows(women, calls, seed, end):
        for (table, columns), values in zip(TABLES, rows, strict=True):
            con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                            f"({', '.join('?' * len(columns))})", values)
        n += len(rows[2])
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return n


async def generate_pg(dsn: str, women: int, calls: int, seed: int = 1,
                      end: float | None = None) -> int:
    """The same fake store in PostgreSQL, through the store (Store.insert_rows: COPY)."""
    store = await Store.open(dsn)
    n = 0
    try:
        for rows in fake_rows(women, calls, seed, end):
            async with store.transaction():
                for (table, columns), values in zip(TABLES, rows, strict=True):
                    await store.insert_rows(table, columns, values)
            n += len(rows[2])
            if rows[0] and rows[0][-1][0] % 100_000 == 0:
                print(f"  {rows[0][-1][0]:,} women, {n:,} calls", file=sys.stderr, flush=True)
        await store.execute("VACUUM ANALYZE")
    finally:
        await store.close()
    return n


async def _migrate(db: Path) -> None:
    store = await Store.open(db)
    await store.close()


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (steady when the machine is
    shared: wall time then depends on the others' load)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_reports(env: dict, home: Path, runs: int) -> None:
    ivr = str(ROOT / ".venv" / "bin" / "ivr")
    for label, extra in (("table", []), ("--json", ["--json"]),
                         ("--by partner", ["--by", "partner"]),
                         ("--html", ["--html", str(home / "r.html")])):
        for run in range(1, runs + 1):
            t, cpu = time.perf_counter(), _children_cpu()
            out = subprocess.run([ivr, "report", *extra], env=env, capture_output=True)
            took, cpu = time.perf_counter() - t, _children_cpu() - cpu
            if out.returncode:
                sys.exit(out.stderr.decode())
            print(f"ivr report {label:13} run {run}: {took:.2f} s wall, {cpu:.2f} s CPU "
                  f"(client), load {os.getloadavg()[0]:.1f} ({len(out.stdout)} bytes out)",
                  flush=True)
    size = (home / "r.html").stat().st_size
    print(f"report.html: {size / 1024:.0f} KiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--women", type=int, default=50_000)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--end", type=float, help="the last instant of the 90 days of calls "
                                                "(epoch seconds; default: now)")
    ap.add_argument("--db", help="a postgresql://... database to fill (empty) and report on "
                                 "(default: a temporary SQLite file)")
    ap.add_argument("--pg", action="store_true",
                    help="PostgreSQL: a private durable cluster under /tmp, removed at the end "
                         "unless --keep")
    ap.add_argument("--keep", action="store_true",
                    help="keep what was generated and reuse it: the SQLite file "
                         "/tmp/ivr-report/<calls>.db, or with --pg the cluster "
                         "/tmp/ivr-pg-report/<calls>")
    ap.add_argument("--keep-dir", default="/tmp",
                    help="with --keep: where ivr-report/ and ivr-pg-report/ are (default /tmp)")
    ap.add_argument("--generate-only", action="store_true", help="with --keep: no report")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = dict(os.environ, IVR_HOME=str(home))
        env.pop("IVR_CONFIG", None)
        env.pop("IVR_DATABASE", None)
        cluster = None
        try:
            dsn, sqlite_db = args.db, home / "ivr.db"
            if args.pg:
                base = Path(args.keep_dir) / f"ivr-pg-report/{args.calls}" if args.keep else None
                cluster = Cluster.reuse(base) if base and base.exists() else \
                    Cluster.start(durable=True, base=base)
                dsn = cluster.dsn("report") if "report" in cluster.databases() else None
                print(f"cluster {cluster.base}")
            elif args.keep and not dsn:
                sqlite_db = Path(args.keep_dir) / f"ivr-report/{args.calls}.db"
                sqlite_db.parent.mkdir(exist_ok=True)
            began = time.perf_counter()
            if (dsn and cluster) or (not dsn and not args.pg and sqlite_db.exists()):
                print("reusing the generated database")
            elif args.pg or dsn:
                dsn = dsn or cluster.create_database("report")       # type: ignore[union-attr]
                n = asyncio.run(generate_pg(dsn, args.women, args.calls, end=args.end))
                print(f"generated {args.women} women, {n} calls in PostgreSQL in "
                      f"{time.perf_counter() - began:.1f} s")
            else:
                n = generate(sqlite_db, args.women, args.calls, end=args.end)
                print(f"generated {args.women} women, {n} calls in "
                      f"{time.perf_counter() - began:.1f} s")
            if dsn:
                env["IVR_DATABASE"] = dsn
                (home / "erasure.key").write_bytes(os.urandom(32))
            else:
                env["IVR_DATABASE"] = str(sqlite_db)
            if not args.generate_only:
                run_reports(env, home, args.runs)
        finally:
            if cluster and not args.keep:
                cluster.remove()


if __name__ == "__main__":
    main()
