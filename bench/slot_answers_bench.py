"""Benchmark: the cost of her answer pattern at the end of a call (issue 16, retry_slots).

Builds a store of WOMEN fake women (phones 9199xxxxxxxx, not allocated; bench/store_scale's
women) with a fake answer history in slot_answers (1-4 slots each, 1-20 calls per slot),
plans day D, then at 09:00 claims ROUNDS x 500 due calls and releases each (no answer),
timing each release, side by side for three ways of ending a call:
  - uncounted: the release without slot_answers (as before issue 16; a bench-only stand-in);
  - own: retry_slots = "own" (the default): the call counted in slot_answers (one upsert);
  - learned: counted, her counts read, the next attempt's slot chosen (prior cached 10 min).
Then the two reads of the operators: the population's prior (a sum per slot over every
woman) and `ivr women suggest-slots` (one query, then suggest_slot per candidate).

    .venv/bin/python bench/slot_answers_bench.py --women 100000
    .venv/bin/python bench/slot_answers_bench.py --pg --women 100000
    .venv/bin/python bench/slot_answers_bench.py --women 100000 --suggest-only --suggest-rounds 2

--suggest-only: no releases; `ivr women suggest-slots` by the Monte Carlo rule of before
(bench/slot_suggest_old.py) and by the exact rule, alternated SUGGEST_ROUNDS times on the
same store, then the lists compared: the old one against the exact rule at the same 0.9
with no correction (the same women up to the draws' noise), and the new default's share.

--pg: a private PostgreSQL cluster (durable: PostgreSQL's defaults), one database per way.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store_scale import at, women  # noqa: E402
from ivr.adapters import slot_answers  # noqa: E402
from ivr.adapters.schedule_store import ScheduleStore  # noqa: E402
from ivr.adapters.slot_answers import SlotLearning  # noqa: E402
from ivr.adapters.store import Store  # noqa: E402
from ivr.operators.slot_answers import suggest_slots  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402
from bench.slot_suggest_old import exact_probabilities, old_suggested  # noqa: E402
from scheduler.outcome import Outcome  # noqa: E402
from scheduler.policy import RetrySlots  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402

SLOTS = ("09-12", "12-15", "15-18", "18-21")
BATCH = 20_000


class Uncounted(SlotLearning):
    """The release as before slot_answers: nothing counted, her own slot."""

    async def after_call(self, store, sub, a, d, outcome, ended_at):
        return None


def history(first_id: int, count: int, rnd: random.Random) -> list[tuple]:
    rows = []
    for sub_id in range(first_id, first_id + count):
        for slot in rnd.sample(SLOTS, rnd.randint(1, 4)):
            calls = rnd.randint(1, 20)
            rows.append((sub_id, slot, calls, sum(rnd.random() < 0.5 for _ in range(calls))))
    return rows


async def build(store: Store, total: int) -> None:
    sched = ScheduleStore(store, load_programme("mmitra"))
    rnd = random.Random(1)
    for first in range(0, total, BATCH):
        subs = await sched.enrol_many(women(first, min(BATCH, total - first), seed=first),
                                      at(0, 7, 30), actor="bench")
        async with store.transaction():
            await store.insert_rows("slot_answers", ("subscriber_id", "slot", "calls",
                                                     "answered"),
                                    history(subs[0].id, len(subs), rnd))
    await sched.run_plans(at(0, 8))


async def release_round(sched: ScheduleStore, r: int, times: list[float]) -> None:
    """Claim 500 due calls at 09:0r and release each (no answer), timing each release."""
    now = at(0, 9, r)
    for a in await sched.claim(now, "bench", 500):
        t = time.perf_counter()
        await sched.release(a.id, Outcome.NO_ANSWER, None, now + (at(0, 0, 1) - at(0, 0)))
        times.append(time.perf_counter() - t)


def schedule(store: Store, way: str) -> ScheduleStore:
    p = load_programme("mmitra")
    if way == "learned":
        p = replace(p, retry=replace(p.retry, retry_slots=RetrySlots.LEARNED))
    learning = (Uncounted if way == "uncounted" else SlotLearning)(p, random.Random(1))
    return ScheduleStore(store, p, learning=learning)


async def reads(store: Store) -> tuple[float, float, int]:
    p = load_programme("mmitra")
    t = time.perf_counter()
    await slot_answers.population_prior(store, p)
    prior = time.perf_counter() - t
    t = time.perf_counter()
    found = await suggest_slots(store, p)
    return prior, time.perf_counter() - t, len(found)


def ms(xs: list[float], q: int) -> float:
    return 1000 * statistics.quantiles(xs, n=100)[q - 1]


async def measure(addresses: dict[str, object], key: Path, rounds: int) -> None:
    """The ways side by side: each round, 500 releases of each way in turn (the machine's
    load shared alike)."""
    stores = {w: await Store.open(a, key_file=key) for w, a in addresses.items()}
    try:
        scheds = {w: schedule(s, w) for w, s in stores.items()}
        times: dict[str, list[float]] = {w: [] for w in stores}
        for r in range(rounds):
            for w, sched in scheds.items():
                await release_round(sched, r, times[w])
        for w, xs in times.items():
            print(f"  {w:9}: {len(xs)} releases, mean {1000 * statistics.fmean(xs):.2f} ms, "
                  f"p50 {ms(xs, 50):.2f} ms, p95 {ms(xs, 95):.2f} ms", flush=True)
        prior, suggest, found = await reads(stores["learned"])
        print(f"  prior read (a sum per slot over every woman): {1000 * prior:.0f} ms; "
              f"suggest-slots: {suggest:.1f} s, {found:,} women suggested", flush=True)
    finally:
        for s in stores.values():
            await s.close()


async def suggest_side_by_side(address, key: Path, rounds: int, women: int) -> None:
    """Old (draws) and new (exact) suggest-slots alternated on one store, then compared."""
    store = await Store.open(address, key_file=key)
    p = load_programme("mmitra")
    try:
        await slot_answers.population_prior(store, p)           # warm the page cache alike
        times: dict[str, list[float]] = {"old": [], "new": []}
        for r in range(rounds):
            for way in (("old", "new") if r % 2 == 0 else ("new", "old")):
                t = time.perf_counter()
                if way == "old":
                    old = await old_suggested(store, p)
                else:
                    new = {row["id"] for row in await suggest_slots(store, p)}
                times[way].append(time.perf_counter() - t)
                print(f"  round {r + 1} {way}: {times[way][-1]:.2f} s", flush=True)
        exact = await exact_probabilities(store, p)
        at_09 = {i for i, q in exact.items() if q >= 0.9}
        differ = old ^ at_09
        gap = max((abs(exact[i] - 0.9) for i in differ), default=0.0)
        eligible = sum(1 for _ in [r async for r in _eligible(store, p)])
        for way, xs in times.items():
            print(f"  {way}: " + ", ".join(f"{x:.2f} s" for x in xs), flush=True)
        print(f"  old (draws, P >= 0.9): {len(old):,} women; exact at 0.9 uncorrected: "
              f"{len(at_09):,}; differ: {len(differ)} (all within {gap:.4f} of 0.9)")
        print(f"  new default (exact, 0.99, Bonferroni): {len(new):,} women = "
              f"{100 * len(new) / women:.2f} % of all, {100 * len(new) / eligible:.2f} % of "
              f"the {eligible:,} eligible", flush=True)
    finally:
        await store.close()


async def _eligible(store: Store, p):
    from bench.slot_suggest_old import women_with_counts
    async for row in women_with_counts(store, p, 5):
        yield row


async def build_at(address, key: Path, total: int) -> float:
    store = await Store.open(address, key_file=key)
    try:
        t = time.perf_counter()
        await build(store, total)
        return time.perf_counter() - t
    finally:
        await store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--women", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=4, help="claims of 500 calls per way")
    ap.add_argument("--pg", action="store_true", help="on a private PostgreSQL cluster")
    ap.add_argument("--suggest-only", action="store_true",
                    help="only suggest-slots, old (draws) vs new (exact), side by side")
    ap.add_argument("--suggest-rounds", type=int, default=2)
    args = ap.parse_args()
    cluster = Cluster.start(durable=True) if args.pg else None
    ways = ("uncounted", "own", "learned")
    try:
        with tempfile.TemporaryDirectory() as home:
            key = Path(home) / "ivr.key"
            base: object = cluster.create_database("base") if cluster else Path(home) / "base.db"
            built = asyncio.run(build_at(base, key, args.women))
            print(f"{'postgres' if cluster else 'sqlite'}: {args.women:,} women with their "
                  f"answer history built in {built:.0f} s; day D planned", flush=True)
            if args.suggest_only:
                asyncio.run(suggest_side_by_side(base, key, args.suggest_rounds, args.women))
                return
            if cluster:
                addresses = {w: cluster.create_database(w, template="base") for w in ways}
            else:
                addresses = {w: Path(home) / f"{w}.db" for w in ways}
                for a in addresses.values():
                    shutil.copyfile(base, a)          # closed: WAL checkpointed
            asyncio.run(measure(addresses, key, args.rounds))
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
