"""Issue 14: calls per hour with 1, 2 and 3 calling nodes on this machine, and what limits it.

For each N of --nodes (default 1 2 3; --rounds R repeats the list, interleaved): one shared
PostgreSQL (a private durable cluster, ivr/sandbox/postgres.py; a new database per run), N
nodes (tests/nodes/harness.py: a private sandbox Asterisk and an `ivr run` each, --channels
per node), the same --women all due now, every phone one that answers and listens until the
IVR hangs up; the message a --message seconds tone. The run ends when every delivery is
closed and no attempt is live. Measured:

- calls answered per hour: whole run (from the `ivr run` start to the last call's end) and
  steady state (between the 10th and the 90th percentile of the answer times);
- per node: calls placed (Asterisk's own "Called" lines; the store's attempts in total),
  its `ivr run`'s CPU seconds, its Asterisk's CPU seconds (/proc/<pid>/stat);
- PostgreSQL's CPU (postmaster, its live backends and the ended ones it waited for);
- the machine's busy CPU (/proc/stat, every process of every agent) and load average;
- every message delivered once: in the store (one delivered row each) and in Asterisk's logs
  (tests/nodes/asterisk_log.py: heard to its end on exactly one call).

The simulated phones run inside each node's Asterisk (Local/<number>@sim-phones): their CPU
is in the Asterisk figures. bench/nodes_phones.py measures what they cost.

    ip netns exec <ns> .venv/bin/python bench/nodes_bench.py --women 1200 \
        --out bench/results/nodes.json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from service_common import ROOT, loadavg, machine_busy, make_sounds, percentile

from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.adapters.store import Store
from ivr.config import home_dir
from ivr.sandbox import Sandbox
from ivr.sandbox.postgres import Cluster as Postgres
from scheduler.programme import load_programme
from tests.e2e.run_helpers import quick_programme, woman_on
from tests.nodes import asterisk_log
from tests.nodes.harness import Cluster, Node, TrunkLimits, cpu_seconds

POLL = 1.0                       # seconds between looks at the store while the calls run


def phones(count: int) -> list[str]:
    """Simulated phones that answer after 1 s and listen until the IVR hangs up."""
    return [f"919000010{i:05d}" for i in range(count)]


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of the whole server: the postmaster, the children it has waited for (ended
    backends) and those still alive (backends, checkpointer, walwriter...)."""
    used = cpu_seconds(postmaster, waited_children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            used += cpu_seconds(int(stat.parent.name))
    return used


async def count(store: Store, sql: str, params: tuple = ()) -> int:
    return (await store.fetchall(sql, params))[0][0]


async def until_done(store: Store, nodes: list[Node], timeout: float) -> None:
    """Every delivery closed and no attempt live; fails when an `ivr run` exits early."""
    deadline = time.monotonic() + timeout
    while True:
        pending = await count(store, "SELECT COUNT(*) FROM deliveries WHERE status = "
                              "'pending' AND next_attempt_at < ?", (time.time() + 3600,))
        live = await count(store, "SELECT COUNT(*) FROM attempts WHERE outcome IS NULL")
        if pending == 0 and live == 0:
            return
        for n in nodes:
            if n.process is None:
                raise RuntimeError(f"node {n.name}'s ivr run exited:\n{n.run_log()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done after {timeout:.0f} s: {pending} pending, {live} live")
        await asyncio.sleep(POLL)


def rates(rows: list, began: float) -> dict:
    """Answered calls per hour: whole run and steady state (10th-90th percentile answers)."""
    answered = sorted(r["answered_at"] for r in rows if r["outcome"] == "answered")
    ended = max((r["ended_at"] for r in rows if r["ended_at"]), default=began)
    whole = ended - began
    p10, p90 = percentile(answered, 10), percentile(answered, 90)
    inside = [t for t in answered if p10 is not None and p10 <= t <= p90]
    steady = (p90 - p10) if p10 is not None else 0.0
    calls = [r["ended_at"] - r["answered_at"] for r in rows
             if r["outcome"] == "answered" and r["ended_at"]]
    # mean calls up (Originate sent -> call ended) over the steady window
    up = sum(max(0.0, min(r["ended_at"], p90) - max(r["started_at"], p10)) for r in rows
             if r["started_at"] and r["ended_at"] and p10 is not None)
    return {
        "answered": len(answered), "attempts": len(rows),
        "steady_mean_calls_up": round(up / steady, 1) if steady else None,
        "whole_s": round(whole, 1),
        "per_hour_whole": round(3600 * len(answered) / whole) if whole else None,
        "steady_s": round(steady, 1),
        "per_hour_steady": round(3600 * (len(inside) - 1) / steady) if steady else None,
        "answered_call_s_p50": round(percentile(calls, 50) or 0, 2),
    }


def delivered_once(nodes: list[Node], sounds: Path, expected: dict) -> dict:
    """Store and Asterisk's logs agree: each woman's message delivered, heard to its end on
    exactly one call over every node."""
    lengths = asterisk_log.SoundLengths(sounds)
    logs = {n.name: n.asterisk_log.read_text(errors="replace") for n in nodes}
    heard = asterisk_log.deliveries(
        h for name, text in logs.items() for h in asterisk_log.heard(name, text, lengths))
    dialled = {name: asterisk_log.dialled(text) for name, text in logs.items()}
    return {
        "store_delivered": sum(1 for s in expected.values() if s == "delivered"),
        "store_not_delivered": sum(1 for s in expected.values() if s != "delivered"),
        "heard_once": sum(1 for k in expected if heard.get(k) == 1),
        "heard_twice_or_more": sum(1 for k in expected if heard.get(k, 0) > 1),
        "not_heard": sum(1 for k in expected if k not in heard),
        "heard_not_expected": len(set(heard) - set(expected)),
        "dialled": {name: sum(d.values()) for name, d in dialled.items()},
        "dialled_twice": sum(1 for p in {p for d in dialled.values() for p in d}
                             if sum(d[p] for d in dialled.values()) > 1),
    }


async def one_run(n: int, label: str, args, shared: Sandbox, pg: Postgres, sounds: Path,
                  programme_path: Path, work: Path) -> dict:
    dsn = pg.create_database(label)
    programme = load_programme(programme_path)
    now = datetime.now(timezone.utc)
    async with await Store.open(dsn) as store:
        await ScheduleStore(store, programme).enrol_many(
            [Enrolment(woman_on(p, now)) for p in phones(args.women)], now, actor="bench")
    trunk = TrunkLimits(channels=args.channels, cps=args.cps, ring_timeout=30.0)
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    async with Cluster(work / label, shared, sounds, programme_path, [dsn] * n, trunk) \
            as cluster:
        nodes = cluster.nodes
        stars = {nd.name: nd.box.status().pid for nd in nodes}
        store = await Store.open(dsn)
        try:
            uptime_before = loadavg()
            ast0 = {k: cpu_seconds(p) for k, p in stars.items()}
            pg0, busy0 = postgres_cpu(postmaster), machine_busy()
            began = time.time()
            for nd in nodes:
                await nd.run()
            pids = {nd.name: nd.process.pid for nd in nodes if nd.process}
            await until_done(store, nodes, args.timeout)
            wall = time.time() - began
            runs = {k: cpu_seconds(p) for k, p in pids.items()}
            stars_cpu = {k: cpu_seconds(p) - ast0[k] for k, p in stars.items()}
            pg_used, busy = postgres_cpu(postmaster) - pg0, machine_busy() - busy0
            uptime_after = loadavg()
            exits = {nd.name: await nd.stop() for nd in nodes}
            rows = await store.fetchall("SELECT phone, started_at, answered_at, ended_at, "
                                        "outcome FROM attempts")
            expected = {(r[0], r[1]): r[2] for r in await store.fetchall(
                "SELECT s.phone, d.message_key, d.status FROM deliveries d "
                "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.due_at <= ?",
                (now.timestamp(),))}
        finally:
            await store.close()
    check = delivered_once(nodes, sounds, expected)
    answered = sum(1 for r in rows if r["outcome"] == "answered") or 1
    ours = sum(runs.values()) + sum(stars_cpu.values()) + pg_used
    return {
        "nodes": n, "label": label, "women": args.women, "channels_per_node": args.channels,
        "cps_per_node": args.cps, "message_s": args.message, "exits": exits,
        **rates(rows, began), "wall_s": round(wall, 1),
        "per_node": {k: {"placed": check["dialled"].get(k, 0),
                         "ivr_run_cpu_s": round(runs[k], 1),
                         "asterisk_cpu_s": round(stars_cpu[k], 1)} for k in pids},
        "ivr_run_cpu_s": round(sum(runs.values()), 1),
        "asterisk_cpu_s": round(sum(stars_cpu.values()), 1),
        "postgres_cpu_s": round(pg_used, 1),
        "ms_per_answered": {"ivr_run": round(1000 * sum(runs.values()) / answered, 1),
                            "asterisk": round(1000 * sum(stars_cpu.values()) / answered, 1),
                            "postgres": round(1000 * pg_used / answered, 1)},
        "cores": {"asterisk": round(sum(stars_cpu.values()) / wall, 2),
                  "ivr_run": round(sum(runs.values()) / wall, 2),
                  "postgres": round(pg_used / wall, 2),
                  "machine_busy": round(busy / wall, 2),
                  "others": round((busy - ours) / wall, 2)},
        "load_before": uptime_before, "load_after": uptime_after,
        "check": check,
    }


def table(results: list[dict]) -> str:
    """Markdown: one row per run, then one row per node of each run."""
    out = ["| run | channels | answered | per hour whole (steady) | calls up, steady | wall s "
           "| Asterisk CPU s (ms/call) | ivr run CPU s (ms/call) | PostgreSQL CPU s (ms/call) "
           "| machine busy / others, cores | load before -> after | once (store / Asterisk) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ms, c, k = r["ms_per_answered"], r["cores"], r["check"]
        out.append(
            f"| {r['label']} | {r['nodes']} x {r['channels_per_node']} | {r['answered']} of "
            f"{r['women']} ({r['attempts']} attempts) | **{r['per_hour_whole']:,}** "
            f"({r['per_hour_steady']:,}) | {r.get('steady_mean_calls_up', '-')} | "
            f"{r['wall_s']} | {r['asterisk_cpu_s']} "
            f"({ms['asterisk']}) | {r['ivr_run_cpu_s']} ({ms['ivr_run']}) | "
            f"{r['postgres_cpu_s']} ({ms['postgres']}) | {c['machine_busy']} / {c['others']} | "
            f"{r['load_before']} -> {r['load_after']} | {k['store_delivered']} / "
            f"{k['heard_once']} once, {k['heard_twice_or_more']} twice, {k['not_heard']} "
            "not heard |")
    out += ["", "| run | node | calls placed (Asterisk) | ivr run CPU s | Asterisk CPU s | "
            "Asterisk ms per call placed |", "|---|---|---|---|---|---|"]
    for r in results:
        for name, n in r["per_node"].items():
            per = round(1000 * n["asterisk_cpu_s"] / n["placed"], 1) if n["placed"] else "-"
            out.append(f"| {r['label']} | {name} | {n['placed']} | {n['ivr_run_cpu_s']} | "
                       f"{n['asterisk_cpu_s']} | {per} |")
    return "\n".join(out)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--rounds", type=int, default=1, help="repeat the --nodes list R times")
    p.add_argument("--first-round", type=int, default=1, help="the rounds' numbers in labels")
    p.add_argument("--women", type=int, default=1200)
    p.add_argument("--channels", type=int, default=100, help="per node")
    p.add_argument("--cps", type=float, default=25.0, help="call set-ups per second per node")
    p.add_argument("--message", type=float, default=20.0, help="message length, seconds")
    p.add_argument("--timeout", type=float, default=1200.0, help="per run, seconds")
    p.add_argument("--work", type=Path, default=None, help="keep the runs' files here")
    p.add_argument("--out", type=Path, default=None, help="JSON lines, one per run")
    p.add_argument("--table", type=Path, default=None,
                   help="print the markdown tables of a --out file and stop")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> list[dict]:
    import tempfile
    work = args.work or Path(tempfile.mkdtemp(prefix="nb-"))    # short: Asterisk's socket
    work.mkdir(parents=True, exist_ok=True)
    shared = Sandbox(home_dir({"IVR_HOME": os.environ.get("IVR_HOME") or str(ROOT / "var")}))
    programme_path = quick_programme(work, gaps={"failed": "1s", "no_answer": "2s"})
    sounds = work / "sounds"
    make_sounds(sounds, programme_path, args.message)
    pg = Postgres.start(durable=True)
    results = []
    try:
        for r in range(args.rounds):
            for n in args.nodes:
                label = f"nodes{n}x{args.channels}_r{r + args.first_round}"
                print(f"{label}: load {loadavg()}", file=sys.stderr, flush=True)
                result = await one_run(n, label, args, shared, pg, sounds, programme_path,
                                       work)
                results.append(result)
                print(json.dumps(result), flush=True)
                if args.out:
                    with args.out.open("a") as f:
                        f.write(json.dumps(result) + "\n")
    finally:
        pg.remove()
    return results


if __name__ == "__main__":
    _args = arguments()
    if _args.table:
        print(table([json.loads(line) for line in _args.table.read_text().splitlines()
                     if line.strip()]))
    else:
        asyncio.run(main(_args))
