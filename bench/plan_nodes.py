"""The day plan of a store built by bench/store_scale.py --pg --keep, on a fresh copy, by
--nodes node processes at once (shares by id modulo n, plan_sets.plan_by_cases), with the
code of --code (another checkout: the same measure before a change). The copy is opened
once first with that code (its migrations run then, timed apart), then planned at the end
of day D+1 as store_scale.py does. Beside the wall time: the CPU of the whole server (every
process of the cluster: backends, their parallel workers, autovacuum, WAL writer,
checkpointer; those that ended during the plan through the postmaster's children's times)
over the plan, from /proc (run on the server's machine).

    ip netns exec <ns> .venv/bin/python bench/plan_nodes.py --cluster /tmp/ivr-pg-plan10/c \\
        --nodes 4 --code /tmp/before
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path


TICK = os.sysconf("SC_CLK_TCK")


def server_cpu_s(data: Path) -> float:
    """CPU seconds of the cluster whose data directory is `data`: its postmaster (with its
    ended children) and its live children."""
    master = int((data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            f = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue                        # ended meanwhile
        pid = int(stat.parent.name)
        if pid == master:
            total += sum(int(x) for x in f[11:15])     # utime stime cutime cstime
        elif int(f[1]) == master:
            total += int(f[11]) + int(f[12])
    return total / TICK


def children(data: Path) -> dict[int, tuple[str, float]]:
    """The cluster's live child processes: pid -> (kind, CPU seconds); kind is the process
    title ("autovacuum worker", "checkpointer", ...), "backend" for a client's backend."""
    master = int((data / "postmaster.pid").read_text().split()[0])
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            f = stat.read_text().rsplit(")", 1)[1].split()
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue                        # ended meanwhile
        if int(f[1]) == master:
            kind = title.removeprefix("postgres: ").strip()
            kind = "backend" if "[local]" in kind else kind.split(" for ")[0]
            out[int(stat.parent.name)] = (kind, (int(f[11]) + int(f[12])) / TICK)
    return out


class Sampler(threading.Thread):
    """Samples children() twice a second until stopped: the CPU each kind of process used
    meanwhile (a process that ended counts up to its last sample: < 0.5 s lost each)."""
    def __init__(self, data: Path):
        super().__init__(daemon=True)
        self.data, self.done = data, threading.Event()
        self.first = children(data)
        self.last = dict(self.first)

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.last.update(children(self.data))

    def by_kind(self) -> dict[str, float]:
        self.done.set()
        self.join()
        self.last.update(children(self.data))
        out: dict[str, float] = {}
        for pid, (kind, cpu) in self.last.items():
            used = cpu - self.first.get(pid, (kind, 0.0))[1]
            out[kind] = round(out.get(kind, 0.0) + used, 1)
        return {k: v for k, v in out.items() if v > 0}


def main(args) -> dict:
    sys.path.insert(0, str(Path(args.code).resolve()))
    from bench import store_nodes
    from bench.store_scale import at
    from ivr.adapters.pg_store import PgStore
    from ivr.sandbox.postgres import Cluster

    cluster = Cluster.reuse(Path(args.cluster))
    out: dict = {"code": str(args.code), "nodes": args.nodes, "load_before": os.getloadavg()}
    cluster.drop_database("plan_nodes")
    t = time.perf_counter()
    dsn = cluster.create_database("plan_nodes", template="scale")
    out["copy_s"] = round(time.perf_counter() - t, 1)
    try:
        async def migrate() -> str:
            store = await PgStore.open(dsn, pool_size=1)
            try:
                await store.execute("VACUUM ANALYZE")
                rows = await store.fetchall("SELECT MAX(version) FROM schema_migrations")
                return str(rows[0][0])
            finally:
                await store.close()
        t = time.perf_counter()
        out["schema"] = asyncio.run(migrate())
        out["open_migrate_analyze_s"] = round(time.perf_counter() - t, 1)
        out["load_at_plan"] = os.getloadavg()
        cpu = server_cpu_s(cluster.base / "data")
        sampler = Sampler(cluster.base / "data")
        sampler.start()
        out["day_plan"] = store_nodes.plans(dsn, at(1, 23, 59), args.nodes, by_cases=True)
        out["server_cpu_s"] = round(server_cpu_s(cluster.base / "data") - cpu, 1)
        out["server_cpu_sampled_s"] = sampler.by_kind()
    finally:
        cluster.drop_database("plan_nodes")
    out["load_after"] = os.getloadavg()
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cluster", required=True)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--code", default=str(Path(__file__).resolve().parent.parent))
    print(json.dumps(main(p.parse_args())), flush=True)
