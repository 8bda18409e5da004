"""Bytes per row of the store's tables, in SQLite and in PostgreSQL (docs/scale.md, issue 14).

    .venv/bin/python bench/table_sizes.py --women 50000 --calls 1000000 [--postgres]

Builds the fake store of bench/report_bench.py (fake numbers +91 90000xxxxx, never real data:
WOMEN women, about CALLS calls over 90 days, ~55 % answered, callbacks and missed calls), then
fills the columns a real call writes the way the running service writes them (the values are
shaped like the rows `ivr demo` stored on the sandbox Asterisk: trunk, Originate reason, Hangup
cause and its text, channel, correlation id, what she heard, how the flow ended, the language
played), each delivery's attempt count, heard share and close time, and one `enrol` audit row per
woman (what `ivr import` writes). VACUUM, then the bytes of every table and of its indexes from
SQLite's dbstat.

With --postgres the same rows are copied (CSV, psql's \\copy) into a private PostgreSQL 15
cluster (initdb in a temporary directory, run as the `postgres` user, Unix socket only, stopped
at the end), whose schema is ivr/migrations run with REAL -> double precision, the integer
ids -> bigint and no foreign keys; after VACUUM ANALYZE the bytes come from pg_relation_size,
pg_indexes_size and pg_total_relation_size (a table's bytes include its TOAST).
Prints one JSON object: per table its rows, bytes of the table and of its indexes, per row.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from report_bench import generate  # noqa: E402

# Every table the migrations create.
TABLES = ("subscribers", "callback_requests", "deliveries", "attempts", "missed_calls", "audit",
          "erased_numbers", "call_centre_list")

# What a call writes, per outcome, as the sandbox's calls wrote it (`ivr demo`, var/demo.db):
# (Originate reason, Hangup cause, cause text).
TELEPHONY = {
    "answered": (4, 16, "Normal Clearing"),
    "busy": (5, 17, "User busy"),
    "no_answer": (3, 19, "User alerting, no answer"),
    "congestion": (8, 34, "Circuit/channel congestion"),
    "rejected": (0, 21, "Call Rejected"),
    "unreachable": (0, 18, "No user responding"),
    "invalid_number": (0, 1, "Unallocated (unassigned) number"),
    "failed": (0, 0, "Unknown"),
}


def realistic(db: Path) -> None:
    """Fill the columns the generator leaves empty, as the running service fills them."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    for outcome, (reason, cause, text) in TELEPHONY.items():
        con.execute("UPDATE attempts SET reason = ?, cause = ?, cause_text = ? WHERE outcome = ?",
                    (reason, cause, text, outcome))
    con.execute(
        "UPDATE attempts SET trunk = 'carrier', acquired_by = NULL, acquired_until = NULL, "
        "uniqueid = 'ivr-' || id || '-' || lower(hex(randomblob(8)))")
    con.execute(
        "UPDATE attempts SET message_seconds = 90.0, heard_seconds = round(heard_share * 90, 2), "
        "ended = CASE WHEN heard_share > 0.99 THEN 'no_input' ELSE 'hangup' END, "
        "language_played = language, channel = 'PJSIP/carrier-' || printf('%08x', id), "
        "keys = CASE WHEN plays = 2 THEN '1' END WHERE outcome = 'answered'")
    con.execute(
        "UPDATE deliveries SET (attempts, heard_share, closed_at) = (SELECT count(*), "
        "coalesce(max(a.heard_share), 0), max(a.ended_at) FROM attempts a "
        "WHERE a.delivery_id = deliveries.id)")
    con.execute("UPDATE subscribers SET lmp = '2026-04-01', plan_at = enrolled_at + 3 * 86400")
    con.execute(
        "INSERT INTO audit (at, actor, subscriber_id, action, detail) SELECT enrolled_at, "
        "'import', id, 'enrol', json_object('language', language, 'partner', partner, "
        "'slot', slot, 'track', track) FROM subscribers")
    con.commit()
    con.execute("VACUUM")
    con.close()


def sqlite_sizes(db: Path) -> dict[str, dict[str, float]]:
    con = sqlite3.connect(db)
    owner = dict(con.execute("SELECT name, tbl_name FROM sqlite_master "
                             "WHERE type IN ('table', 'index')"))
    out: dict[str, dict[str, float]] = {}
    for table in TABLES:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        out[table] = {"rows": rows, "table_bytes": 0, "index_bytes": 0}
    for name, size in con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        table = owner.get(name, name)
        if table in out:
            out[table]["table_bytes" if name == table else "index_bytes"] += size
    con.close()
    return _per_row(out)


def _per_row(out: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    for v in out.values():
        if v["rows"]:
            v["table_bytes_per_row"] = round(v["table_bytes"] / v["rows"], 1)
            v["index_bytes_per_row"] = round(v["index_bytes"] / v["rows"], 1)
    return out


def pg_schema() -> str:
    """ivr/migrations in PostgreSQL's words: REAL is double precision, ids are bigint, and no
    foreign keys (attempts names callback_requests before it exists; keys add no bytes)."""
    sql = "\n".join(p.read_text() for p in sorted((ROOT / "ivr" / "migrations").glob("*.sql")))
    sql = re.sub(r"\s+REFERENCES \w+\(\w+\)", "", sql)      # forward references; no bytes
    sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
    sql = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT PRIMARY KEY", sql)
    return re.sub(r"(\w+_id\s+)INTEGER\b", r"\1BIGINT", sql)


def postgres_sizes(db: Path, work: Path) -> dict[str, dict[str, float]]:
    data, sock = work / "pgdata", work / "sock"
    for d in (data, sock):
        d.mkdir()
        shutil.chown(d, "postgres")
    work.chmod(0o755)
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, "initdb", "-D", str(data), "-U", "postgres", "--auth", "trust",
                    "-E", "UTF8", "--no-locale"], check=True, capture_output=True)
    subprocess.run([*as_pg, "pg_ctl", "-D", str(data), "-w", "-l", str(sock / "server.log"), "-o",
                    f"-k {sock} -c listen_addresses='' -c fsync=off", "start"],
                   check=True, capture_output=True)
    psql = [*as_pg, "psql", "-h", str(sock), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt"]
    try:
        subprocess.run([*psql, "-c", pg_schema()], check=True, capture_output=True)
        con = sqlite3.connect(db)
        for table in TABLES:
            path = work / f"{table}.csv"
            cur = con.execute(f"SELECT * FROM {table}")
            cols = [c[0] for c in cur.description]
            with path.open("w", newline="") as f:
                csv.writer(f).writerows(cur)
            path.chmod(0o644)
            subprocess.run([*psql, "-c", f"\\copy {table} ({', '.join(cols)}) FROM '{path}' "
                            "WITH (FORMAT csv)"], check=True, capture_output=True)
        con.close()
        subprocess.run([*psql, "-c", "VACUUM ANALYZE"], check=True, capture_output=True)
        out: dict[str, dict[str, float]] = {}
        for table in TABLES:
            row = subprocess.run(
                [*psql, "-c", f"SELECT count(*), pg_relation_size('{table}'), "
                 f"pg_indexes_size('{table}'), pg_total_relation_size('{table}') FROM {table}"],
                check=True, capture_output=True, text=True).stdout.strip().split("|")
            rows, rel, idx, total = (int(x) for x in row)
            out[table] = {"rows": rows, "table_bytes": total - idx, "index_bytes": idx,
                          "heap_bytes": rel}
        return _per_row(out)
    finally:
        subprocess.run([*as_pg, "pg_ctl", "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--women", type=int, default=50_000)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ivr.db"
        began = time.perf_counter()
        generate(db, args.women, args.calls)
        realistic(db)
        result = {"women": args.women, "calls": args.calls,
                  "sqlite_file_bytes": db.stat().st_size, "sqlite": sqlite_sizes(db),
                  "built_s": round(time.perf_counter() - began, 1)}
        if args.postgres:
            result["postgresql"] = postgres_sizes(db, Path(tmp))
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
