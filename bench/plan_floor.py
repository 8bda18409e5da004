"""The floor of the day plan on PostgreSQL: the bare statements a day plan needs for a
quarter of the women (those whose id is 0 modulo 4: ~2.5 M of 10 M), each one statement in
its own transaction, committed, with the server backend's CPU (/proc of its pid: run on
the server's machine) beside the wall time. No rule, no client work: what the server
must do at least to write a row per woman planned, on the store's real tables and indexes.

    ip netns exec <ns> .venv/bin/python bench/plan_floor.py --cluster /tmp/ivr-pg-plan10/c

Runs on a copy (`floor`, CREATE DATABASE ... TEMPLATE scale: the statements change it),
dropped at the end. Measures, in this order:
  read_due        SELECT of the women due, by the plan_at index (count only)
  insert          INSERT of one minimal pending delivery per woman, into deliveries (its
                  4 indexes that apply, its foreign key)
  insert_2        the same rows again (another message key), by 2 backends at once (one half each)
  close           UPDATE of those deliveries to closed (status, closed_at, next_attempt_at)
  plan_at         UPDATE subscribers SET plan_at (indexed: not a HOT update)
  heap_only       INSERT of the same rows into a table like deliveries without any index
  narrow_plan_at  UPDATE of plan_at in a narrow table of its own (subscriber_id PRIMARY KEY,
                  plan_at, index (plan_at, subscriber_id)), filled beforehand for every woman
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.sandbox.postgres import Cluster  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
T = 1_796_000_000.0
INSERT = ("INSERT INTO {table} (subscriber_id, message_key, slot, due_at, status, "
          "next_attempt_at) SELECT id, '{key}', slot, {t}, 'pending', {t} FROM subscribers "
          "WHERE id % {n} = {k}")


def cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def one(con: psycopg.Connection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def run(dsn: str, sql: str) -> dict:
    """One statement, committed: wall, server CPU, rows."""
    with psycopg.connect(dsn) as con:
        pid = con.info.backend_pid
        cpu, load, t = cpu_s(pid), os.getloadavg()[0], time.perf_counter()
        cur = con.execute(sql)
        rows = cur.rowcount
        con.commit()
        return {"rows": rows, "seconds": round(time.perf_counter() - t, 2),
                "server_cpu_s": round(cpu_s(pid) - cpu, 2),
                "load": [round(load, 1), round(os.getloadavg()[0], 1)]}


def at_once(dsn: str, statements: list[str]) -> dict:
    """The statements in as many backends, started together: wall of the slowest."""
    out: list[dict] = [{} for _ in statements]

    def one(i: int) -> None:
        out[i] = run(dsn, statements[i])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(statements))]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return {"seconds": round(time.perf_counter() - t, 2), "backends": out,
            "rows": sum(o["rows"] for o in out),
            "server_cpu_s": round(sum(o["server_cpu_s"] for o in out), 2)}


def measure(dsn: str, share: int) -> dict:
    out: dict = {}
    with psycopg.connect(dsn, autocommit=True) as con:
        out["women"] = one(con, "SELECT COUNT(*) FROM subscribers")
        top = one(con, "SELECT COALESCE(MAX(id), 0) FROM deliveries")
        con.execute("CHECKPOINT")
    out["read_due"] = run(dsn, f"SELECT COUNT(*) FROM (SELECT id FROM subscribers "
                               f"WHERE plan_at IS NOT NULL AND plan_at <= {T} AND id % {share} "
                               f"= 0) w")
    out["insert"] = run(dsn, INSERT.format(table="deliveries", key="floor-1", t=T, n=share, k=0))
    half = share * 2
    out["insert_2"] = at_once(dsn, [INSERT.format(table="deliveries", key="floor-2", t=T,
                                                  n=half, k=k) for k in (0, share)])
    out["close"] = run(dsn, f"UPDATE deliveries SET status = 'superseded', closed_at = {T}, "
                            f"next_attempt_at = NULL WHERE id > {top} "
                            "AND message_key = 'floor-1'")
    out["plan_at"] = run(dsn, f"UPDATE subscribers SET plan_at = plan_at + 86400 "
                              f"WHERE id % {share} = 0 AND plan_at IS NOT NULL")
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE TABLE floor_heap (LIKE deliveries INCLUDING DEFAULTS)")
        con.execute("CREATE TABLE floor_plan (subscriber_id INTEGER PRIMARY KEY, plan_at REAL)")
        t = time.perf_counter()
        con.execute("INSERT INTO floor_plan SELECT id, plan_at FROM subscribers")
        con.execute("CREATE INDEX floor_plan_at ON floor_plan (plan_at, subscriber_id)")
        con.execute("VACUUM ANALYZE floor_plan")
        out["narrow_fill_s"] = round(time.perf_counter() - t, 1)
        con.execute("CREATE SEQUENCE floor_heap_id")
        con.execute("ALTER TABLE floor_heap ALTER id SET DEFAULT nextval('floor_heap_id')")
    out["heap_only"] = run(dsn, INSERT.format(table="floor_heap", key="floor-1", t=T, n=share,
                                              k=0))
    out["narrow_plan_at"] = run(dsn, f"UPDATE floor_plan SET plan_at = plan_at + 86400 "
                                     f"WHERE subscriber_id % {share} = 0 "
                                     "AND plan_at IS NOT NULL")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cluster", required=True, help="a cluster of bench/store_scale.py --pg "
                                                      "--keep (its database `scale`)")
    ap.add_argument("--share", type=int, default=4, help="the women whose id %% share = 0")
    ap.add_argument("--in-place", help="a database of that cluster to change in place, not "
                                       "a copy of `scale`")
    args = ap.parse_args()
    cluster = Cluster.reuse(Path(args.cluster))
    out: dict = {"load_before": os.getloadavg()}
    name = args.in_place or "floor"
    if not args.in_place:
        cluster.drop_database("floor")
        t = time.perf_counter()
        cluster.create_database("floor", template="scale")
        out["copy_s"] = round(time.perf_counter() - t, 1)
    try:
        out.update(measure(cluster.dsn(name), args.share))
    finally:
        if not args.in_place:
            cluster.drop_database("floor")
    out["load_after"] = os.getloadavg()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
