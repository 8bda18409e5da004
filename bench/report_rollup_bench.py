"""Benchmark: `ivr report` before and after the daily counts (ivr/adapters/report_rollup.py),
side by side on one database made by bench/report_bench.py --keep.

    .venv/bin/python bench/report_rollup_bench.py --db /tmp/ivr-report/1000000.db \
        --before /tmp/before --runs 3
    .venv/bin/python bench/report_rollup_bench.py --pg-cluster /tmp/ivr-pg-report/1000000 \
        --before /tmp/before --runs 3

--before: a checkout of the code before (git archive of the commit before the rollup, with
ivr/migrations/016_slot_weekday_answers.sql and 017_report_days.sql (numbered so since the
measures) copied in so that it opens the migrated database). Steps:
migrate (017: empty tables), roll up every closed day (timed: the one-time catch-up, --run
days a transaction), then `ivr report --json` from the code before and from this code,
alternating, each a fresh process; their outputs compared byte for byte (generated_at aside).
Then each query of the report's biggest sections timed in this process (--sections).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.adapters import report_calls, report_rollup, reports  # noqa: E402
from ivr.adapters.store import Store  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402

KOLKATA = 19800
CALL_SECTIONS = ("pickup_by_attempt", "pickup_by_slot", "pickup_by_weekday", "listening",
                 "failure_mix")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


async def roll(address: str, run: int) -> dict:
    t = time.perf_counter()
    store = await Store.open(address)
    migrated = time.perf_counter() - t
    t = time.perf_counter()
    days = await report_rollup.roll_up(store, time.time(), KOLKATA, run=run)
    rolled = time.perf_counter() - t
    rows = (await store.fetchall("SELECT COUNT(*), COALESCE(SUM(n), 0) FROM report_calls"))[0]
    await store.close()
    return {"migrate_s": round(migrated, 2), "roll_s": round(rolled, 2), "days": days,
            "rollup_rows": rows[0], "rolled_calls": rows[1]}


async def sections(address: str) -> dict:
    store = await Store.open(address, read_only=True)
    out = {}
    try:
        for name, work in (
                ("calls_raw", lambda: reports.call_cube(store, None, None, None, KOLKATA)),
                ("calls_rollup", lambda: report_calls.call_cube(store, None, None, None,
                                                                KOLKATA)),
                ("funnel", lambda: reports.funnel(store, None, None, None)),
                ("at_risk_attempts", lambda: reports.at_risk_attempts(
                    store, low_share=0.5, unanswered_since=time.time() - 14 * 86400,
                    low_calls=3)),
                ("at_risk_women", lambda: reports.at_risk_women(
                    store, low_share=0.5, unanswered_since=time.time() - 14 * 86400,
                    low_calls=3))):
            t = time.perf_counter()
            await work()
            out[name + "_s"] = round(time.perf_counter() - t, 2)
    finally:
        await store.close()
    return out


def report(code: Path, env: dict) -> tuple[float, float, bytes]:
    env = dict(env, PYTHONPATH=str(code))
    t, cpu = time.perf_counter(), _cpu()
    out = subprocess.run([sys.executable, "-c", "from cli import main; main()", "report",
                          "--json"], env=env, capture_output=True, cwd=code)
    took, cpu = time.perf_counter() - t, _cpu() - cpu
    if out.returncode:
        sys.exit(out.stderr.decode())
    body = json.loads(out.stdout)
    body.pop("generated_at", None)
    return took, cpu, json.dumps(body).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a SQLite file made by report_bench.py --keep")
    ap.add_argument("--pg-cluster", help="a cluster made by report_bench.py --pg --keep")
    ap.add_argument("--before", required=True, type=Path, help="the code before")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--run", type=int, default=31,
                    help="days rolled in one transaction (a catch-up: 31; ivr run: 1)")
    ap.add_argument("--out", help="a directory for each run's output")
    ap.add_argument("--no-roll", action="store_true", help="use the rollup as it is")
    args = ap.parse_args()
    address = args.db or Cluster.reuse(Path(args.pg_cluster)).dsn("report")
    result: dict = {"database": args.db or args.pg_cluster, "load_before": _load()}
    if not args.no_roll:
        result.update(asyncio.run(roll(address, args.run)))
        print(json.dumps(result), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, IVR_HOME=tmp, IVR_DATABASE=address)
        env.pop("IVR_CONFIG", None)
        (Path(tmp) / "erasure.key").write_bytes(os.urandom(32))
        for run in range(1, args.runs + 1):
            pair = {}
            for label, code in (("before", args.before), ("after", ROOT)):
                took, cpu, pair[label] = report(code, env)
                line = {"run": run, "code": label, "wall_s": round(took, 2),
                        "cpu_s": round(cpu, 2), "load": _load(), "bytes": len(pair[label])}
                result.setdefault("runs", []).append(line)
                print(json.dumps(line), flush=True)
            # the whole output, and the call sections (at_risk moves with the clock)
            result.setdefault("same_output", []).append(pair["before"] == pair["after"])
            calls = [{k: json.loads(pair[c])[k] for k in CALL_SECTIONS} for c in pair]
            result.setdefault("same_call_sections", []).append(calls[0] == calls[1])
            if args.out:
                for label, body in pair.items():
                    Path(args.out, f"{label}-{run}.json").write_bytes(body)
    result.update(asyncio.run(sections(address)))
    result["load_after"] = _load()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
