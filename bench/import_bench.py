"""Benchmark: `ivr import` of a 100,000-row CSV (fake numbers only: 98xxxxxxxx).

Writes the CSV the way a spreadsheet does (UTF-8 with a BOM, Windows line ends, Devanagari
names, day-first dates), then times a fresh `ivr import` process into an empty store,
and a second import of the same file (everything a duplicate: nothing added).

    .venv/bin/python bench/import_bench.py --rows 100000 --runs 3
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    ivr = str(ROOT / ".venv" / "bin" / "ivr")
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            csv = home / "women.csv"
            write_csv(csv, args.rows, seed=run)
            env = {k: v for k, v in os.environ.items() if k != "IVR_CONFIG"}
            env["IVR_HOME"] = str(home)
            for label in ("first import", "same file again"):
                t, cpu = time.perf_counter(), _children_cpu()
                out = subprocess.run([ivr, "import", str(csv)], env=env, capture_output=True)
                took, cpu = time.perf_counter() - t, _children_cpu() - cpu
                if out.returncode:
                    sys.exit(out.stderr.decode()[-2000:])
                print(f"run {run} {label:16}: {took:5.2f} s wall, {cpu:5.2f} s CPU, load "
                      f"{os.getloadavg()[0]:.1f}; {out.stdout.decode().strip()}")
            con = sqlite3.connect(home / "ivr.db")
            women, dels, audit = (con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                                  for t in ("subscribers", "deliveries", "audit"))
            con.close()
            print(f"run {run} store: {women} women, {dels} deliveries, {audit} audit rows")


if __name__ == "__main__":
    main()
