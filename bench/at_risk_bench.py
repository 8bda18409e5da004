"""Benchmark: `ivr report`'s at-risk list before and after the database's per-woman reduction
(reports.at_risk_women), side by side on one database made by bench/report_bench.py --keep,
alternating, the same `now` for both of a pair, their lists compared (woman, weeks
unanswered, run of low listening).

    .venv/bin/python bench/at_risk_bench.py --db /tmp/ivr-report/10000000.db --runs 3
    .venv/bin/python bench/at_risk_bench.py --pg-cluster /tmp/ivr-pg-report/10000000 --runs 3

before: reports.at_risk_attempts (her calls since her last well-heard one) folded per woman
by scheduler/engagement.from_attempts in Python (the code before); after:
ivr.operators.report_at_risk.at_risk_engagements. Read-only. --schema N: a kept database at an older
schema N (its attempts and subscribers unchanged), read as it is (this process only).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.adapters import reports, store as store_module  # noqa: E402
from ivr.adapters.columns import instant  # noqa: E402
from ivr.adapters.store import Store  # noqa: E402
from ivr.operators.report_at_risk import at_risk_engagements  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402
from scheduler.engagement import Engagement, at_risk, from_attempts, weeks_unanswered  # noqa: E402
from scheduler.model import Attempt, AttemptKind  # noqa: E402
from scheduler.outcome import Outcome  # noqa: E402
from scheduler.programme import Programme, load_programme  # noqa: E402


async def before(store: Store, programme: Programme, now: datetime) -> dict[int, Engagement]:
    """The code before: her calls since, folded in Python."""
    rule = programme.at_risk
    rows = await reports.at_risk_attempts(
        store, low_share=rule.low_listening_share,
        unanswered_since=now.timestamp() - rule.unanswered_weeks * 7 * 86400,
        low_calls=rule.low_listening_calls)
    mine: dict[int, list[Attempt]] = defaultdict(list)
    for r in rows:
        mine[r["subscriber_id"]].append(Attempt(
            id=r["id"], subscriber_id=r["subscriber_id"], kind=AttemptKind(r["kind"]),
            message_key=r["message_key"], number=r["number"], claimed_at=instant(r["created_at"]),
            ended_at=instant(r["ended_at"]), outcome=Outcome(r["outcome"]),
            heard_share=r["heard_share"]))
    flagged = {}
    for sid, attempts in mine.items():
        eng = from_attempts(attempts, rule)
        if at_risk(eng, rule, now):
            flagged[sid] = eng
    return flagged


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


async def main(address: str, runs: int) -> dict:
    programme = load_programme("mmitra")
    store = await Store.open(address, read_only=True)
    result: dict = {"database": address, "load_before": _load(), "runs": [], "same": []}
    try:
        for run in range(1, runs + 1):
            now = datetime.now(timezone.utc)
            lists = {}
            for label, work in (("before", before), ("after", at_risk_engagements)):
                t = time.perf_counter()
                flagged = await work(store, programme, now)
                took = time.perf_counter() - t
                lists[label] = sorted((sid, weeks_unanswered(e, now), e.low_listening_run)
                                      for sid, e in flagged.items())
                line = {"run": run, "code": label, "wall_s": round(took, 2), "load": _load(),
                        "women": len(flagged)}
                result["runs"].append(line)
                print(json.dumps(line), flush=True)
            result["same"].append(lists["before"] == lists["after"])
    finally:
        await store.close()
    result["load_after"] = _load()
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a SQLite file made by report_bench.py --keep")
    ap.add_argument("--pg-cluster", help="a cluster made by report_bench.py --pg --keep")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--schema", type=int,
                    help="a kept database's older schema version: read it as it is")
    args = ap.parse_args()
    if args.schema:
        newest = store_module.migrations

        def older() -> list:
            return newest()[:args.schema]
        store_module.migrations = older   # type: ignore[assignment]
    address = args.db or Cluster.reuse(Path(args.pg_cluster)).dsn("report")
    print(json.dumps(asyncio.run(main(address, args.runs))), flush=True)
