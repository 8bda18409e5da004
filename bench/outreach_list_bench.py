"""Benchmark: the pure part of `ivr outreach list` (issue 16) at scale, old vs new.

The store's weekly rows of WOMEN women over WEEKS weeks (seeded fakes: each woman with her
own chance to engage in a week, 1 in 50 weeks called by the call centre, enrolled at a
random week, 1 in 20 no longer active), then what ivr/operators/outreach.py does with them:
`histories` -> `estimate` -> `rank` (capacity K), timed for the code before the speed-up
(bench/outreach_old.py) and for scheduler/outreach.py now, alternated ROUNDS times
(old, new, new, old, ...), the two lists checked equal. Then the peak memory of each way
(tracemalloc, a run of its own: not timed). The SQL that reads the rows is not in it.

    .venv/bin/python bench/outreach_list_bench.py --women 50000 --weeks 12 --rounds 4
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.outreach_old import (  # noqa: E402
    reference_estimate, reference_histories, reference_rank,
)
from scheduler.outreach import estimate, rank  # noqa: E402
from scheduler.outreach_weeks import WeekRow, Woman, histories  # noqa: E402

WAYS = {"old": (reference_histories, reference_estimate, reference_rank),
        "new": (histories, estimate, rank)}


def store_rows(women: int, weeks: int, seed: int) -> tuple[list[Woman], list[WeekRow]]:
    rnd = random.Random(seed)
    who, rows = [], []
    for sid in range(1, women + 1):
        enrolled = -rnd.randint(1, 3 * weeks)
        who.append(Woman(sid, enrolled, rnd.random() > 0.05))
        p = rnd.random()
        for week in range(max(-weeks, enrolled), 0):
            engaging, called = rnd.random() < p, rnd.random() < 0.02
            if engaging or called:
                rows.append(WeekRow(sid, week, engaging, called))
    return who, rows


def run(way: str, women, rows, weeks: int, capacity: int):
    make, learn, choose = WAYS[way]
    h = make(women, rows, -weeks)
    return choose(h, learn(h), capacity), sum(max(0, len(x) - 1) for x in h.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--women", type=int, default=50_000)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--capacity", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    women, rows = store_rows(args.women, args.weeks, args.seed)
    print(f"{args.women:,} women, {len(rows):,} week rows over {args.weeks} weeks, "
          f"K = {args.capacity}", flush=True)
    times: dict[str, list[float]] = {"old": [], "new": []}
    lists = {}
    for r in range(args.rounds):
        for way in (("old", "new") if r % 2 == 0 else ("new", "old")):
            t = time.perf_counter()
            lists[way], transitions = run(way, women, rows, args.weeks, args.capacity)
            times[way].append(time.perf_counter() - t)
    assert lists["old"] == lists["new"], "the two ways ranked differently"
    print(f"transitions: {transitions:,}; the same {len(lists['new'])} women in the same "
          f"order both ways")
    for way, xs in times.items():
        print(f"  {way}: median {statistics.median(xs):.2f} s (" +
              ", ".join(f"{x:.2f}" for x in xs) + ")", flush=True)
    for way in WAYS:
        tracemalloc.start()
        run(way, women, rows, args.weeks, args.capacity)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {way}: peak {peak / 2**20:.0f} MB allocated (tracemalloc)", flush=True)


if __name__ == "__main__":
    main()
