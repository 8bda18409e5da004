"""The same benchmarks on two git revisions in one session, interleaved (issue 13's proof).

    ip netns exec ns-bench .venv/bin/python bench/compare.py --old f77e554 --new HEAD
    ip netns exec ns-bench .venv/bin/python bench/compare.py --old f77e554 --new /work/main \\
        --rounds 3 --parts store,simulate,cpu --out bench/results/compare.md

Each revision is exported (`git archive`, or a copy of a checkout's tracked files when given a
path) under --work, and this checkout's bench/*.py are laid over it: both revisions are
measured by the same benchmark code (--bench-from own keeps each revision's own copy). Both
run with this checkout's .venv (same dependencies), PYTHONPATH set to the export: the harness
checks that `ivr`, `cli` and `scheduler` are imported from the export before measuring.

Benchmarks (--parts):
  store     claim 500 at 09:00 (slot opening) over --women women: bench/store_scale.py
            --claims-only on a copy of a database built once (shared by both revisions when a
            small store built by each has the same schema, else one per revision)
  simulate  `ivr simulate` of --sim-women women over --sim-days days (same seed on both):
            wall time, CPU and peak RSS of the process (os.wait4); the outputs must be equal
  cpu       controller CPU per call: bench/service_bench.py --parts dialer,ivr-run against a
            private sandbox Asterisk: the Dialer in the benchmark's process, then the same
            batch placed by an `ivr run --until-idle` process (its CPU by os.wait4). Needs a
            network namespace of its own: run the harness under `ip netns exec`

Rounds are interleaved old/new, then new/old (ABBA), --rounds times each; the table gives the
median of each side, its spread (min-max) and the change of the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_benches import BENCHES, GOALS, METRICS  # noqa: E402
from compare_trees import HARNESS, Tree, prepare  # noqa: E402

PARTS = ("store", "simulate", "cpu")


def fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def separated(a: list[float], b: list[float]) -> str:
    """"higher"/"lower" when every new run is above/below every old run, else "overlap":
    with few rounds on a shared machine, a median's change alone is not a finding."""
    return "higher" if min(b) > max(a) else "lower" if max(b) < min(a) else "overlap"


def table(args, trees: list[Tree], results: dict, benches: dict) -> str:
    old, new = trees
    lines = ["| benchmark | old: median (min-max) | new: median (min-max) | change % | "
             "runs | command |", "|---|---|---|---|---|---|"]
    for metric, (label, unit, part) in METRICS.items():
        a, b = results[old.label].get(metric), results[new.label].get(metric)
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        change = 100 * (mb - ma) / ma if ma else float("nan")
        flag = " **(> +5 %)**" if change > 5 and metric in GOALS else ""
        lines.append(f"| {label.format(**vars(args))} ({unit}, n={len(a)}+{len(b)}) | "
                     f"{fmt(ma)} ({fmt(min(a))}-{fmt(max(a))}) | "
                     f"{fmt(mb)} ({fmt(min(b))}-{fmt(max(b))}) | {change:+.1f} %{flag} | "
                     f"{separated(a, b)} | `{benches[part].command(new)}` |")
    lines += ["", "runs: \"higher\" / \"lower\" when every new run is above / below every "
              "old run; \"overlap\" when the two sides' ranges overlap (a change of the "
              "medians within the noise)."]
    return "\n".join(lines)


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", default="f77e554", help="revision or checkout path (f77e554)")
    p.add_argument("--new", default=str(HARNESS),
                   help="revision or checkout path (default: this checkout, as it is)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each benchmark per side (3)")
    p.add_argument("--parts", default=",".join(PARTS), help="store,simulate,cpu")
    p.add_argument("--women", type=int, default=2_500_000, help="women in the store (2.5 M)")
    p.add_argument("--claims", type=int, default=30, help="full claims of 500 per run (30)")
    p.add_argument("--sim-women", type=int, default=10_000)
    p.add_argument("--sim-days", type=int, default=365)
    p.add_argument("--cpu-batch", type=int, default=500, help="calls per cpu run (500)")
    p.add_argument("--cpu-cps", type=float, default=50.0)
    p.add_argument("--cpu-message", type=float, default=10.0, help="message length, s (10)")
    p.add_argument("--work", type=Path, default=Path("/tmp/ivr-compare"),
                   help="exports and databases (kept between runs: a database is reused)")
    p.add_argument("--bench-from", choices=("harness", "own"), default="harness",
                   help="bench/*.py of this checkout on both sides (default), or each's own")
    p.add_argument("--out", type=Path, default=None, help="write the markdown table here too")
    args = p.parse_args(argv)
    args.parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    bad = [x for x in args.parts if x not in PARTS]
    if bad or args.rounds < 1:
        p.error(f"unknown part(s) {bad}, or --rounds < 1")
    return args


def main(argv=None) -> int:
    args = arguments(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    trees = [prepare("old", args.old, args.work, args.bench_from),
             prepare("new", args.new, args.work, args.bench_from)]
    if trees[0].commit == trees[1].commit:      # old vs old: two labels, one code
        print(f"note: old and new are the same commit {trees[0].commit}", file=sys.stderr)
    benches = {name: BENCHES[name](args, args.work) for name in args.parts}
    results: dict[str, dict[str, list[float]]] = {t.label: {} for t in trees}
    log: list[dict] = []
    notes: dict = {}
    for name, bench in benches.items():
        notes[name] = bench.prepare(trees)
        for r in range(args.rounds):
            order = trees if r % 2 == 0 else trees[::-1]
            for tree in order:
                load = os.getloadavg()[0]
                figures = bench.measure(tree)
                for k, v in figures.items():
                    results[tree.label].setdefault(k, []).append(v)
                entry = {"part": name, "round": r + 1, "side": tree.label, "load1": load,
                         **figures}
                log.append(entry)
                print(json.dumps(entry), file=sys.stderr, flush=True)
    same = benches["simulate"].same_output() if "simulate" in benches else None
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    head = [f"old = `{trees[0].spec}` ({trees[0].commit[:12]}), new = `{trees[1].spec}` "
            f"({trees[1].commit[:12]}); {args.rounds} rounds each, interleaved ABBA; "
            f"bench code from {args.bench_from}; {when}, "
            f"{(time.time() - started) / 60:.0f} min; load average at the start of each run "
            f"{min(e['load1'] for e in log):.1f}-{max(e['load1'] for e in log):.1f} "
            f"on {os.cpu_count()} cores.", ""]
    if "store" in notes:
        head += ["Store: " + "; ".join(f"{k}: {v}" for k, v in notes["store"].items()) + ".", ""]
    if same is not None:
        head += [f"`ivr simulate` output identical on both sides: **{same}**.", ""]
    text = "\n".join(head) + "\n" + table(args, trees, results, benches) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(
            {"old": vars(trees[0]) | {"root": str(trees[0].root)},
             "new": vars(trees[1]) | {"root": str(trees[1].root)},
             "notes": notes, "runs": log, "simulate_same_output": same}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
