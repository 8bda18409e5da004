"""Benchmark: one page of the retention purge (ivr/adapters/retention.py purge_page, 20,000
old calls) on a copy of a big store (SQLite or PostgreSQL), with and without migration
021's indexes on the rows that point at a call (callback_requests, answers, follow_ups,
call_centre_list).

    .venv/bin/python bench/purge_page_bench.py --db /tmp/report-bench/ivr-report/10000000.db.020 \
        --runs 2
    .venv/bin/python bench/purge_page_bench.py \
        --pg-cluster /tmp/report-bench/ivr-pg-report/10000000 \
        --template report_020 --runs 2

Each run: the store copied (sqlite3 .backup to --work; PostgreSQL: CREATE DATABASE ...
TEMPLATE --template), migrated by this code, the four
indexes dropped for "without", then one purge_page timed (wall, this process's CPU), with
the cut-off just after the store's 20,000 oldest ended calls. "with" and "without"
alternate. One JSON line a run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.adapters.retention import PAGE, purge_page  # noqa: E402
from ivr.adapters.store import Store  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402

INDEXES = ("callback_requests_attempt", "answers_attempt", "follow_ups_attempt",
           "call_centre_list_attempt")


async def one(db: str, with_indexes: bool) -> dict:
    store = await Store.open(db)                      # migrates the copy to this code
    try:
        if not with_indexes:
            for name in INDEXES:
                await store.execute(f"DROP INDEX {name}")
        rows = await store.fetchall("SELECT created_at FROM attempts WHERE outcome IS NOT "
                                    "NULL ORDER BY created_at, id LIMIT 1 OFFSET ?", (PAGE,))
        cut = datetime.fromtimestamp(rows[0][0], timezone.utc)
        links = (await store.fetchall("SELECT COUNT(*) FROM callback_requests"))[0][0]
        t, c = time.perf_counter(), time.process_time()
        done = await purge_page(store, cut, now=cut + timedelta(days=400))
        return {"indexes": with_indexes, "calls": done["calls"],
                "missed_calls": done["missed_calls"], "callback_requests": links,
                "wall_s": round(time.perf_counter() - t, 2),
                "cpu_s": round(time.process_time() - c, 2),
                "load": "/".join(f"{x:.1f}" for x in os.getloadavg())}
    finally:
        await store.close()


def clean(work: str) -> None:
    """The copy, its WAL and the backups the migration made of it."""
    for path in [Path(work + s) for s in ("", "-wal", "-shm")] + list(
            Path(work).parent.glob(Path(work).name + ".schema*.backup")):
        path.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a SQLite store")
    ap.add_argument("--pg-cluster", help="or a PostgreSQL cluster (bench/report_bench.py --pg)")
    ap.add_argument("--template", default="report_020", help="with --pg-cluster: the database")
    ap.add_argument("--work", default="/tmp/purge-page-bench.db")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    for run in range(args.runs):
        for with_indexes in (True, False):
            if args.pg_cluster:
                cluster = Cluster.reuse(Path(args.pg_cluster))
                if "purge_copy" in cluster.databases():
                    cluster.drop_database("purge_copy")
                cluster.create_database("purge_copy", template=args.template)
                out = asyncio.run(one(cluster.dsn("purge_copy"), with_indexes))
                cluster.drop_database("purge_copy")
            else:
                clean(args.work)
                subprocess.run(["sqlite3", args.db, f".backup {args.work}"], check=True)
                out = asyncio.run(one(args.work, with_indexes))
            print(json.dumps({"run": run + 1, **out}), flush=True)
    clean(args.work)


if __name__ == "__main__":
    main()
