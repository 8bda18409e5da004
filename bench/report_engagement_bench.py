"""Benchmark: the whole `ivr report --json` before and after the at-risk list's summary per
woman (ivr/adapters/report_engagement.py, migration 019), side by side, on a store made by
bench/report_bench.py --keep (at this code's schema: 018's tables empty).

    .venv/bin/python bench/report_engagement_bench.py --db /tmp/ivr-report/10000000.db \
        --before /tmp/before --runs 3
    .venv/bin/python bench/report_engagement_bench.py \
        --pg-cluster /tmp/ivr-pg-report/10000000 --before /tmp/before --runs 3

--before: a checkout of the code before (git archive of the commit before the summary).
--before-db / --after-db: the stores each side reads, when they are made already (SQLite:
files; PostgreSQL: database names in the cluster), e.g. main at schema 019 and this code at
020 (migration 020 applied to a copy). --purge N: only time, N times each, what a
retention page of 20,000 calls adds for the summary on the after store, rolled back,
alternating: its women folded again (this code), the summary forgotten (before).
Steps: roll up the closed days (ivr/adapters/report_rollup.py, both sides read them), copy
the store for the code before (SQLite: a file copy; PostgreSQL: CREATE DATABASE ...
TEMPLATE) and take 018 out of the copy; fold every call into the summary (timed: the
one-time catch-up), and time one hour of calls folded (what `ivr run`'s chore does each
hour). Then `ivr report --json` from the code before (on the copy) and from this code,
alternating, each a fresh process at one fixed instant (ivr.operators.session.utc_now
replaced), wall, CPU and peak memory (/usr/bin/time); the outputs compared byte for byte.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.adapters import report_engagement, report_rollup  # noqa: E402
from ivr.adapters.store import Store, in_rolled_back_transaction  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402

KOLKATA = 19800
SHARE = 0.25                   # mmitra's low_listening_share
RUN = ("import sys, datetime, ivr.operators.session as s; "
       "at = datetime.datetime.fromtimestamp(float(sys.argv.pop(1)), datetime.timezone.utc); "
       "s.utc_now = lambda: at; from cli import main; main()")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


async def prepare(address: str, now: float) -> dict:
    store = await Store.open(address)
    try:
        t = time.perf_counter()
        days = await report_rollup.roll_up(store, now, KOLKATA, run=31)
        return {"rolled_days": days, "roll_s": round(time.perf_counter() - t, 2)}
    finally:
        await store.close()


async def undo_019(address: str) -> None:
    store = await Store.open(address) if address.startswith("postgresql") else None
    if store is None:                 # SQLite: the copy is at 19; the code before knows 18
        import sqlite3
        con = sqlite3.connect(address)
        con.executescript("DROP TABLE report_engagement; DROP TABLE report_engagement_upto; "
                          "DELETE FROM schema_migrations WHERE version = 19;")
        con.close()
        return
    try:
        await store.execute("DROP TABLE report_engagement")
        await store.execute("DROP TABLE report_engagement_upto")
        await store.execute("DELETE FROM schema_migrations WHERE version = 19")
    finally:
        await store.close()


async def fold(address: str, now: float) -> dict:
    store = await Store.open(address)
    try:
        await report_engagement.forget(store)
        t = time.perf_counter()
        steps = await report_engagement.fold_all(store, SHARE, now - 3600)
        catch_up = time.perf_counter() - t
        t = time.perf_counter()
        more = await report_engagement.fold(store, SHARE, now)      # the hour since
        hour = time.perf_counter() - t
        rows = (await store.fetchall("SELECT COUNT(*) FROM report_engagement"))[0][0]
        calls = (await store.fetchall(
            "SELECT COUNT(*) FROM attempts WHERE created_at >= ? AND created_at < ?",
            (now - 3600 - report_rollup.GRACE, now - report_rollup.GRACE)))[0][0]
        return {"catch_up_s": round(catch_up, 2), "steps": steps, "summary_rows": rows,
                "hour_fold_s": round(hour, 3), "hour_calls": calls, "more": more}
    finally:
        await store.close()


async def hour_folds(address: str, hours: int) -> list[dict]:
    """What `ivr run`'s chore pays each hour: one hour of calls folded into the summary
    (calls_in over the hour, her rows read, upserted), at `hours` instants spread over the
    calls, each in a transaction rolled back (the summary moved back to that hour first)."""
    store = await Store.open(address)
    out = []
    try:
        first, last = (await store.fetchall("SELECT MIN(created_at), MAX(created_at) "
                                            "FROM attempts"))[0]
        for i in range(hours):
            at = first + (last - first) * (i + 1) / (hours + 1)

            async def one(at: float = at) -> tuple[float, int]:
                await store.execute("UPDATE report_engagement_upto SET upto = ? "
                                    "WHERE low_share = ?", (at, SHARE))
                t = time.perf_counter()
                await report_engagement.fold(store, SHARE, last + 86400, step=3600)
                took = time.perf_counter() - t
                n = (await store.fetchall("SELECT COUNT(*) FROM attempts WHERE created_at "
                                          ">= ? AND created_at < ?", (at, at + 3600)))[0][0]
                return took, n
            took, n = await in_rolled_back_transaction(store, one())
            out.append({"hour_at": round(at), "calls": n, "fold_s": round(took, 3),
                        "load": _load()})
    finally:
        await store.close()
    return out


async def purge_pages(address: str, pairs: int) -> list[dict]:
    """What a retention page (20,000 calls, the oldest) adds for the summary, timed two
    ways, each in a transaction rolled back, alternating: "refold" (this code: the women of
    the page's calls folded again from their calls, read here before the page's delete, so a
    page's worth more calls than the page itself reads) and "forget" (the summary dropped,
    as before; then every call is folded again by `ivr run`, not timed here). The page's own
    delete is the same either way and is not timed (at 10 M calls on SQLite it takes minutes:
    each deleted call's references are looked for in callback_requests without an index)."""
    store = await Store.open(address)
    out = []
    try:
        first = (await store.fetchall("SELECT MIN(created_at) FROM attempts"))[0][0]
        women = [r[0] for r in await store.fetchall(
            "SELECT subscriber_id FROM attempts WHERE created_at < ? AND outcome IS NOT NULL "
            "ORDER BY created_at, id LIMIT 20000", (first + 30 * 86400,))]
        for i in range(pairs):
            for label in ("refold", "forget"):
                async def one(label: str = label) -> float:
                    t = time.perf_counter()
                    if label == "refold":
                        await report_engagement.refold(store, women)
                    else:
                        await report_engagement.forget(store)
                    return time.perf_counter() - t
                load = _load()
                took = await in_rolled_back_transaction(store, one())
                out.append({"pair": i + 1, "page": label, "calls": len(women),
                            "women": len(set(women)), "s": round(took, 3),
                            "load": f"{load} -> {_load()}"})
                print(json.dumps(out[-1]), flush=True)
    finally:
        await store.close()
    return out


def report(code: Path, env: dict, now: float) -> tuple[dict, bytes]:
    env = dict(env, PYTHONPATH=str(code))
    with tempfile.NamedTemporaryFile() as timing:
        t = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", timing.name,
                              sys.executable, "-c", RUN, str(now), "report", "--json"],
                             env=env, capture_output=True, cwd=code)
        took = time.perf_counter() - t
        if out.returncode:
            sys.exit(out.stderr.decode())
        user, system, peak = Path(timing.name).read_text().split()[-3:]
    return {"wall_s": round(took, 2), "cpu_s": round(float(user) + float(system), 2),
            "peak_mb": round(int(peak) / 1024), "bytes": len(out.stdout)}, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a SQLite file made by report_bench.py --keep")
    ap.add_argument("--pg-cluster", help="a cluster made by report_bench.py --pg --keep")
    ap.add_argument("--before", required=True, type=Path, help="the code before")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prepared", action="store_true",
                    help="the copy for the code before and the summary made already")
    ap.add_argument("--refold", action="store_true",
                    help="with --prepared: forget the summary and time the catch-up again")
    ap.add_argument("--hours", type=int, default=0,
                    help="only time this many hours of calls folded (rolled back) and stop")
    ap.add_argument("--out", help="a directory for each run's output")
    ap.add_argument("--before-db", help="the store the code before reads (made already)")
    ap.add_argument("--after-db", help="the store this code reads (made already)")
    ap.add_argument("--purge", type=int, default=0,
                    help="only time this many pairs of a page's summary work (rolled back)")
    args = ap.parse_args()
    now = time.time()
    if args.db:
        address, before = args.db, args.db + ".before"
    else:
        cluster = Cluster.reuse(Path(args.pg_cluster))
        address, before = cluster.dsn("report"), cluster.dsn("report_before")
        if args.before_db:
            args.before_db = cluster.dsn(args.before_db)
        if args.after_db:
            args.after_db = cluster.dsn(args.after_db)
    before = args.before_db or before
    address = args.after_db or address
    result: dict = {"database": args.db or args.pg_cluster, "now": now, "load": _load()}
    if args.purge:
        asyncio.run(purge_pages(address, args.purge))
        return
    if args.hours:
        for line in asyncio.run(hour_folds(address, args.hours)):
            print(json.dumps(line), flush=True)
        return
    if not args.prepared:
        result.update(asyncio.run(prepare(address, now)))
        t = time.perf_counter()
        if args.db:
            for suffix in ("-wal", "-shm"):
                Path(args.db + ".before" + suffix).unlink(missing_ok=True)
            subprocess.run(["sqlite3", args.db, f".backup {before}"], check=True)
        else:
            if "report_before" not in cluster.databases():
                cluster.create_database("report_before", template="report")
        asyncio.run(undo_019(before))
        result["copy_s"] = round(time.perf_counter() - t, 2)
        result.update(asyncio.run(fold(address, now)))
        print(json.dumps(result), flush=True)
    elif args.refold:
        result.update(asyncio.run(fold(address, now)))
        print(json.dumps(result), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = dict(os.environ, IVR_HOME=tmp)
        base.pop("IVR_CONFIG", None)
        (Path(tmp) / "erasure.key").write_bytes(os.urandom(32))
        for run in range(1, args.runs + 1):
            pair = {}
            for label, code, db in (("before", args.before, before), ("after", ROOT, address)):
                line, pair[label] = report(code, dict(base, IVR_DATABASE=db), now)
                line = {"run": run, "code": label, **line, "load": _load()}
                result.setdefault("runs", []).append(line)
                print(json.dumps(line), flush=True)
                if args.out:
                    Path(args.out, f"{label}-{run}.json").write_bytes(pair[label])
            result.setdefault("same_output", []).append(pair["before"] == pair["after"])
            at_risk = [len(json.loads(body)["at_risk"]) for body in pair.values()]
            result.setdefault("at_risk_women", []).append(at_risk)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
