"""The floor under a claim of 500 on PostgreSQL: the bare writes of a claim, with nothing else
(no read of the due calls, no rule, no client work): 500 attempts rows INSERTed from arrays
(the claim's columns, live: outcome NULL, so every partial index takes them), the UPDATE of
their 500 deliveries (as the claim writes it), and both in one transaction, by 1 and by 4
connections at once (4 nodes). Per transaction: the wall time (p50/p95) and the server
backends' CPU (/proc of their pids: the bench runs on the server's machine). Runs on a fresh
copy (`claim_floor`) of a store built by bench/store_scale.py --pg --keep (database
`scale`), each transaction on women not used before.

    ip netns exec <ns> .venv/bin/python bench/claim_floor.py --cluster /tmp/ivr-pg-claim/c

Variants (each on its own fresh copy): the schema as built (017), 018 (two indexes fewer),
018 without the attempts' foreign keys, and attempts with only its primary key: what the
indexes and the checks cost.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pg_cost import cpu_ms  # noqa: E402
from bench.store_nodes import spread  # noqa: E402
from bench.store_scale import at  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402

INSERT = ("INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, language, "
          "message_key, created_at, acquired_by, acquired_until) "
          "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], "
          "%s::text[], %s::text[], %s::text[], %s::float8[], %s::text[], %s::float8[])")
UPDATE = ("UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = NULL, "
          "acquired_by = %s, acquired_until = %s WHERE id = ANY(%s::bigint[])")
SCHEMA_018 = ["DROP INDEX attempts_live", "DROP INDEX deliveries_subscriber"]
NO_FOREIGN_KEYS = ["ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_fkey",
                   "ALTER TABLE attempts DROP CONSTRAINT attempts_subscriber_id_fkey",
                   "ALTER TABLE attempts DROP CONSTRAINT attempts_callback_id_fkey"]
BARE = ["DROP INDEX attempts_one_live", "DROP INDEX attempts_delivery",
        "DROP INDEX attempts_subscriber", "DROP INDEX attempts_created",
        "DROP INDEX attempts_lease"]
# each variant: the statements that make it from the store as built (schema 017)
VARIANTS = {"017": [], "018": SCHEMA_018, "018 without the attempts' foreign keys":
            SCHEMA_018 + NO_FOREIGN_KEYS, "attempts with only its primary key, no foreign keys; "
            "deliveries as 018": SCHEMA_018 + NO_FOREIGN_KEYS + BARE}


def batches(rows: list[tuple], n: int) -> list[list[tuple]]:
    return [rows[i * 500:(i + 1) * 500] for i in range(n)]


async def one(conn, pid: int, what: str, batch: list[tuple], now: float, owner: str) -> tuple:
    ids = [r[0] for r in batch]
    t, s0 = time.perf_counter(), cpu_ms(pid)
    async with conn.transaction():
        if what in ("insert", "both"):
            await conn.execute(INSERT, (
                ids, [r[1] for r in batch], [r[2] + 1 for r in batch], ["scheduled"] * 500,
                [r[3] for r in batch], [r[4] for r in batch], [r[5] for r in batch],
                [now] * 500, [owner] * 500, [now + 600] * 500))
        if what in ("update", "both"):
            await conn.execute(UPDATE, (owner, now + 600, ids))
    return (time.perf_counter() - t) * 1000, cpu_ms(pid) - s0


async def run(dsn: str, what: str, rows: list[tuple], nodes: int, rounds: int,
              now: float) -> dict:
    conns = [await psycopg.AsyncConnection.connect(dsn) for _ in range(nodes)]
    try:
        pids = [(await (await c.execute("SELECT pg_backend_pid()")).fetchone())[0]
                for c in conns]
        walls, cpus = [], []
        work = batches(rows, nodes * rounds)
        load = os.getloadavg()[0]
        for r in range(rounds):
            got = await asyncio.gather(*(one(c, p, what, work[r * nodes + k], now, f"n{k}")
                                         for k, (c, p) in enumerate(zip(conns, pids, strict=True))))
            walls += [g[0] for g in got]
            cpus += [g[1] for g in got]
        return {"what": what, "nodes": nodes, "transactions": len(walls), **spread(walls),
                "server_cpu_ms_mean": round(statistics.mean(cpus), 1), "load": round(load, 1)}
    finally:
        for c in conns:
            await c.close()


async def main(args) -> None:
    cluster = Cluster.reuse(Path(args.cluster))
    now = at(0, 9).timestamp()
    for variant, statements in VARIANTS.items():
        if args.variants and variant.split()[0] not in args.variants:
            continue
        db = "claim_floor"
        cluster.drop_database(db)
        dsn = cluster.create_database(db, template="scale")
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as c:
            for sql in statements:
                await c.execute(sql)
            need = 500 * 4 * args.rounds * 3 + 500 * args.rounds * 3
            rows = await (await c.execute(
                "SELECT d.id, d.subscriber_id, d.attempts, s.phone, s.language, d.message_key "
                "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
                "WHERE d.status = 'pending' AND d.next_attempt_at <= %s "
                "ORDER BY d.next_attempt_at, d.id LIMIT %s", (now, need))).fetchall()
            seen, mine = set(), []
            for r in rows:                        # one delivery per woman
                if r[1] not in seen:
                    seen.add(r[1])
                    mine.append(r)
        at_ = 0
        for nodes in (1, 4):
            for what in ("insert", "update", "both"):
                take = 500 * nodes * args.rounds
                out = await run(dsn, what, mine[at_:at_ + take], nodes, args.rounds, now)
                at_ += take
                print(json.dumps({"variant": variant, **out}), flush=True)
        cluster.drop_database(db)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cluster", required=True, help="the cluster of store_scale.py --pg --keep")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--variants", nargs="*", help="the first words of the variants to run "
                   "(017, 018, attempts; default: all)")
    asyncio.run(main(p.parse_args()))
