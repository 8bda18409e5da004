"""Issue 16's outreach goal, side by side: every policy on the same seeded population.

    .venv/bin/python bench/outreach_side_by_side.py [--seeds 1-5] [--capacity 50 100]
        [--women 1000] [--weeks 20]

For each capacity K and seed: none, random, at-risk, whittle by the "drops" objective,
whittle by the "engaged" objective, and the oracle ceiling (the index of each woman's TRUE
chain, drops objective), each through scheduler.outreach_sim.simulate_outreach with
random.Random(seed) (so each meets the same women and the same luck), as
`ivr simulate --outreach ... --capacity K --seed N` does. Prints a markdown table (drops,
engaged weeks, whittle vs random and vs at-risk) and the goal's verdict per row.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.outreach_sim import OutreachPopulation, simulate_outreach  # noqa: E402

RUNS = (("none", "drops"), ("random", "drops"), ("at-risk", "drops"), ("whittle", "drops"),
        ("whittle", "engaged"), ("oracle", "drops"))


def seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def pct(a: int, b: int) -> str:
    return f"{100.0 * (a - b) / b:+.1f} %"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seeds, default=seeds("1-5"))
    ap.add_argument("--capacity", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--women", type=int, default=1000)
    ap.add_argument("--weeks", type=int, default=20)
    args = ap.parse_args()
    population = OutreachPopulation(women=args.women)
    print("| K | seed | drops none / random / at-risk / whittle-drops / whittle-engaged / oracle "
          "| whittle-drops vs random | vs at-risk | whittle-engaged vs random | oracle vs random "
          "| engaged weeks none / random / at-risk / w-drops / w-engaged / oracle | goal |")
    print("|---|---|---|---|---|---|---|---|---|")
    began = time.perf_counter()
    for k in args.capacity:
        for seed in args.seeds:
            results = [simulate_outreach(population, policy, k, args.weeks, random.Random(seed),
                                         objective) for policy, objective in RUNS]
            drops = [r.engagement_drops for r in results]
            engaged = [r.engaged_weeks for r in results]
            _, rand, risk, w_drops, w_engaged, oracle = drops
            met = w_drops <= 0.8 * rand and w_drops < risk
            print(f"| {k} | {seed} | {' / '.join(f'{d:,}' for d in drops)} "
                  f"| {pct(w_drops, rand)} | {pct(w_drops, risk)} | {pct(w_engaged, rand)} "
                  f"| {pct(oracle, rand)} | {' / '.join(f'{e:,}' for e in engaged)} "
                  f"| {'met' if met else 'missed'} |", flush=True)
    print(f"\n{time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
