"""Benchmark: a year of mMitra for 10,000 women through the real scheduler (ivr simulate).

    .venv/bin/python bench/scheduler_simulate.py [--women 10000] [--days 365] [--runs 3]

Runs `ivr simulate` in a fresh process each time (as an operator would), prints one JSON line
per run and a summary, and exits 1 when a run takes a minute or more or breaks an invariant.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--women", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--answer-rate", default="0.6")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--programme", default="mmitra")
    args = ap.parse_args()
    ivr = Path(sys.executable).with_name("ivr")
    cmd = [str(ivr), "simulate", "--programme", args.programme, "--women", str(args.women),
           "--days", str(args.days), "--answer-rate", args.answer_rate, "--json"]
    walls, ok = [], True
    for run in range(args.runs):
        began = time.perf_counter()
        out = subprocess.run(cmd + ["--seed", str(run + 1)], capture_output=True, text=True,
                             check=True, cwd=ROOT, env=dict(os.environ))
        wall = time.perf_counter() - began
        data = json.loads(out.stdout)
        walls.append(wall)
        bad = {k: data[k] for k in ("calls_outside_slot", "calls_outside_window",
                                    "double_live_attempts") if data[k]}
        ok = ok and not bad and wall < 60 and data["max_attempts_per_message"] <= 9
        print(json.dumps({"run": run + 1, "wall_seconds": round(wall, 2),
                          "load1": os.getloadavg()[0],
                          **data}, sort_keys=True))
    print(f"{args.women} women x {args.days} days: wall {min(walls):.1f}-{max(walls):.1f} s "
          f"over {args.runs} runs ({'ok' if ok else 'FAILED'})", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
