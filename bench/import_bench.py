"""Benchmark: `ivr import` of a 100,000-row CSV (fake numbers only: 98xxxxxxxx).

Writes the CSV the way a spreadsheet does (UTF-8 with a BOM, Windows line ends, Devanagari
names, day-first dates), then times a fresh `ivr import` process into an empty store,
and a second import of the same file (everything a duplicate: nothing added).

    .venv/bin/python bench/import_bench.py --rows 100000 --runs 3
    # PostgreSQL (a private durable cluster, a new database a run), the code of two
    # checkouts alternating (--code: a checkout whose cli.py runs `ivr`)
    .venv/bin/python bench/import_bench.py --pg --rows 100000 --runs 2 --code /tmp/before --code .
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "phone,name,language,slot,lmp,edd,child_dob,partner,health_worker,consent_date,timezone"


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    today = date.today()
    lines = [HEADER]
    for i in range(rows):
        lmp = today - timedelta(days=rnd.randint(30, 260))
        if i % 10 == 9:          # some women enrolled after the birth
            cells = ["", "", (today - timedelta(days=rnd.randint(1, 300))).strftime("%d/%m/%Y")]
        else:
            cells = [lmp.strftime(rnd.choice(["%d/%m/%Y", "%Y-%m-%d", "%d %b %Y", "%d.%m.%Y"])),
                     "", ""]
        lines.append(",".join([f"98{i:08d}", f"सीमा {i}",
                               rnd.choice(["hi", "mr", "gu", "en"]),
                               rnd.choice(["09-12", "12-15", "15-18", "18-21"]), *cells,
                               rnd.choice(["KEM Hospital", "NGO Sakhi"]), "आशा",
                               today.strftime("%d/%m/%Y"), ""]))
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (steady when the machine is
    shared: wall time then depends on the others' load)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def command(code: str | None) -> list[str]:
    """`ivr` of this checkout, or of the checkout `code` (its own modules first)."""
    if code is None:
        return [str(ROOT / ".venv" / "bin" / "ivr")]
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(code).resolve())!r}); "
            "sys.argv[0] = 'ivr'; from cli import main; main()"]


def counts(home: Path, dsn: str | None) -> tuple[int, ...]:
    tables = ("subscribers", "deliveries", "audit")
    if dsn is None:
        con = sqlite3.connect(home / "ivr.db")
        try:
            return tuple(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)
        finally:
            con.close()
    import psycopg
    with psycopg.connect(dsn) as pg:
        return tuple(pg.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore
                     for t in tables)


def one_run(run: int, args, code: str | None, cluster) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        csv = home / "women.csv"
        write_csv(csv, args.rows, seed=run)
        env = {k: v for k, v in os.environ.items() if k not in ("IVR_CONFIG", "IVR_DATABASE")}
        env["IVR_HOME"] = str(home)
        dsn = None
        if cluster is not None:
            cluster.drop_database("imports")
            dsn = env["IVR_DATABASE"] = cluster.create_database("imports")
        label = f"run {run} {code or '.'}"
        for what in ("first import", "same file again"):
            t, cpu = time.perf_counter(), _children_cpu()
            load = os.getloadavg()[0]
            out = subprocess.run([*command(code), "import", str(csv)], env=env,
                                 capture_output=True)
            took, cpu = time.perf_counter() - t, _children_cpu() - cpu
            if out.returncode:
                sys.exit(out.stderr.decode()[-2000:])
            print(f"{label} {what:16}: {took:5.2f} s wall, {cpu:5.2f} s CPU, load "
                  f"{load:.1f}-{os.getloadavg()[0]:.1f}; {out.stdout.decode().strip()}",
                  flush=True)
        women, dels, audit = counts(home, dsn)
        print(f"{label} store: {women} women, {dels} deliveries, {audit} audit rows", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg", action="store_true",
                    help="into PostgreSQL: a private durable cluster, a new database a run")
    ap.add_argument("--code", action="append",
                    help="a checkout whose `ivr` to run (repeat: they alternate in each run)")
    args = ap.parse_args()
    cluster = None
    if args.pg:
        sys.path.insert(0, str(ROOT))
        from ivr.sandbox.postgres import Cluster
        cluster = Cluster.start(durable=True)
    try:
        for run in range(1, args.runs + 1):
            for code in args.code or [None]:
                one_run(run, args, code, cluster)
    finally:
        if cluster is not None:
            cluster.remove()


if __name__ == "__main__":
    main()
