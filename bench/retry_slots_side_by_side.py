"""Issue 16's retry-slots goal, side by side: own, random, learned and the oracle ceiling.

    .venv/bin/python bench/retry_slots_side_by_side.py [--seeds 1-5] [--women 2000]
        [--days 180] [--slot-mismatch 0.3] [--away-day-answer 0.5]
        [--policies own,random,learned,oracle] [--weekday-strength 2]

For each seed, the four runs of
`ivr simulate --women W --days D --seed N --slot-mismatch S --retry-slots own|random|learned|oracle`
on the same seeded population (mmitra, answer rate 0.6), one after the other in this process.
Prints a markdown table (delivered, attempts per delivered and vs own, channel minutes per
delivered, calls outside the window) and the goal's verdict for learned: >= 15 % fewer
attempts per delivered message than own, and at least as many delivered.
`learned-weekday` (only with --policies): learned with the programme's
`retry_slots_by_weekday = true` (her cells per slot and weekday, scheduler/retry_slots.py);
--weekday-strength: a variant of its WEEKDAY_STRENGTH (set on the module for this process).
The policies of one seed run one after the other in the order given, on the same population.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler import retry_slots  # noqa: E402
from scheduler.policy import RetrySlots  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402
from scheduler.simulation import Population, simulate  # noqa: E402

START = datetime(2026, 1, 5, tzinfo=timezone.utc)          # `ivr simulate`'s default start
POLICIES = ("own", "random", "learned", "oracle", "learned-weekday")


def seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seeds, default=seeds("1-5"))
    ap.add_argument("--women", type=int, default=2000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--slot-mismatch", type=float, default=0.3)
    ap.add_argument("--away-day-answer", type=float, default=0.5)
    ap.add_argument("--policies", type=lambda t: t.split(","), default=list(POLICIES[:4]))
    ap.add_argument("--weekday-strength", type=float, default=None)
    args = ap.parse_args()
    if args.weekday_strength is not None:
        retry_slots.WEEKDAY_STRENGTH = args.weekday_strength
    if "own" not in args.policies or set(args.policies) - set(POLICIES):
        ap.error(f"--policies: own and any of {', '.join(POLICIES)}")
    base = load_programme("mmitra")
    population = Population(women=args.women, slot_mismatch=args.slot_mismatch,
                            away_day_answer=args.away_day_answer)
    print("| seed | policy | delivered | attempts | attempts / delivered | vs own "
          "| channel min / delivered | answer rate | outside window | wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        own: dict[str, float] = {}
        for policy in ["own"] + [p for p in args.policies if p != "own"]:
            began = time.perf_counter()
            oracle = policy == "oracle"
            weekday = policy == "learned-weekday"
            programme = replace(base, retry=replace(base.retry, retry_slots_by_weekday=weekday))
            s = simulate(programme, population, days=args.days, seed=seed, start=START,
                         retry_slots=None if oracle else RetrySlots(policy.split("-")[0]),
                         oracle=oracle).summary
            wall = time.perf_counter() - began
            apd = s["attempts_per_delivered"]
            if policy == "own":
                own = {"apd": apd, "delivered": s["messages_delivered"]}
                vs = ""
            else:
                vs = f"{100.0 * (apd - own['apd']) / own['apd']:+.1f} %"
            verdict = ""
            if policy.startswith("learned"):
                met = apd <= 0.85 * own["apd"] and s["messages_delivered"] >= own["delivered"]
                verdict = " (goal met)" if met else " (goal missed)"
            print(f"| {seed} | {policy} | {s['messages_delivered']:,} | {s['attempts']:,} "
                  f"| {apd:.4f} | {vs}{verdict} | {s['channel_minutes_per_delivered']:.4f} "
                  f"| {s['answer_rate_observed']:.4f} | {s['calls_outside_window']} "
                  f"| {wall:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
