"""Benchmark: `ivr db copy --to postgresql://...` of a large SQLite install.

Generates a fake store with report_bench.generate (fake numbers only: WOMEN women, about
CALLS calls over 90 days, callbacks and missed calls), starts a private PostgreSQL cluster
(ivr/sandbox/postgres.py, PostgreSQL's durable defaults), and times the copy as a fresh
`ivr db copy` process (wall seconds, CPU seconds of the process and of the PostgreSQL
server, rows per second; on a shared machine the CPU seconds are the steadier figure).
Everything under /tmp.

    .venv/bin/python bench/db_copy_bench.py --women 100000 --calls 1000000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report_bench import generate  # noqa: E402

from ivr.sandbox.postgres import Cluster  # noqa: E402


def rows_in(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
        return sum(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables
                   if t != "schema_migrations")
    finally:
        con.close()


def server_cpu(cluster: Cluster) -> float:
    """CPU seconds of the cluster: its postmaster, its ended backends (reaped: cutime,
    cstime) and its live children."""
    tick = os.sysconf("SC_CLK_TCK")
    main_pid = int((cluster.data / "postmaster.pid").read_text().split()[0])

    def stat(pid: int) -> list[str]:
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2:].split()

    fields = stat(main_pid)
    total = sum(int(x) for x in fields[11:15])            # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(main_pid):
            try:
                child = stat(int(entry.name))
            except (OSError, ValueError):
                continue
            if int(child[1]) == main_pid:
                total += int(child[11]) + int(child[12])
    return total / tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--women", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ivr-copy-bench-"))
    db = home / "ivr.db"
    t = time.monotonic()
    generate(db, args.women, args.calls)
    made = time.monotonic() - t
    total = rows_in(db)
    cluster = Cluster.start(durable=True)
    try:
        dsn = cluster.create_database("ivr_copy")
        env = {**os.environ, "IVR_HOME": str(home)}
        env.pop("IVR_DATABASE", None)
        env.pop("IVR_CONFIG", None)
        before, server = os.times(), server_cpu(cluster)
        t = time.monotonic()
        done = subprocess.run([str(ROOT / ".venv/bin/ivr"), "db", "copy", "--to", dsn],
                              env=env, capture_output=True, text=True)
        wall = time.monotonic() - t
        after = os.times()
        time.sleep(1)                        # the backends end and are reaped
        server = server_cpu(cluster) - server
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        print(done.stderr, file=sys.stderr)
        cpu = (after.children_user - before.children_user
               + after.children_system - before.children_system)
        print(json.dumps({"women": args.women, "rows": total, "generate_s": round(made, 1),
                          "copy_wall_s": round(wall, 1), "copy_cpu_s": round(cpu, 1),
                          "server_cpu_s": round(server, 1),
                          "rows_per_s": round(total / wall), "cpus": os.cpu_count(),
                          "python": platform.python_version(),
                          "load": os.getloadavg()[0]}))
    finally:
        cluster.remove()
        for p in home.iterdir():
            p.unlink()
        home.rmdir()


if __name__ == "__main__":
    main()
