"""The claim's INSERT of 500 attempts (pg_sql.insert_arrays) bound three ways: the store's
client-side binding (the arrays as literals in a ~60 KB statement), server-side binding (text),
server-side binding (binary); 60 rounds each, rolled back, on a fresh copy (`bindtest`) of the
store of bench/store_scale.py --pg --keep. Prints the server backend's and the client's CPU.

    ip netns exec <ns> .venv/bin/python bench/claim_binding.py --cluster /tmp/ivr-pg-claim/c
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import psycopg
from psycopg import AsyncClientCursor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pg_cost import cpu_ms  # noqa: E402
from ivr.adapters import pg_sql  # noqa: E402
from ivr.sandbox.postgres import Cluster  # noqa: E402

COLUMNS = ("delivery_id", "subscriber_id", "number", "kind", "phone", "language",
           "message_key", "created_at", "acquired_by", "acquired_until")
TYPES = ["bigint", "bigint", "bigint", "text", "text", "text", "text", "double precision",
         "text", "double precision"]
WAYS = ("client literal", "server bound", "server bound binary")


async def main(args) -> None:
    cluster = Cluster.reuse(Path(args.cluster))
    cluster.drop_database("bindtest")
    dsn = cluster.create_database("bindtest", template="scale")
    sql = pg_sql.statement(pg_sql.insert_arrays("attempts", COLUMNS, TYPES, None))
    async with await psycopg.AsyncConnection.connect(dsn) as c:
        rows = await (await c.execute(
            "SELECT d.id, d.subscriber_id, s.phone, s.language, d.message_key FROM deliveries d "
            "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.status = 'pending' "
            "ORDER BY d.id LIMIT 500")).fetchall()
        pid = (await (await c.execute("SELECT pg_backend_pid()")).fetchone())[0]
        await c.rollback()
        params = ([r[0] for r in rows], [r[1] for r in rows], [1] * 500, ["scheduled"] * 500,
                  [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows],
                  [1.7e9] * 500, ["bench"] * 500, [1.7e9 + 600] * 500)
        server: dict[str, list[float]] = {w: [] for w in WAYS}
        client: dict[str, list[float]] = {w: [] for w in WAYS}
        for _ in range(args.rounds):
            for way in WAYS:
                s0, c0 = cpu_ms(pid), time.process_time()
                if way == "client literal":
                    cur = AsyncClientCursor(c)
                    await cur.execute(sql, params)
                else:
                    cur = c.cursor()
                    await cur.execute(sql, params, binary=way.endswith("binary"))
                await cur.fetchall()
                await c.rollback()
                server[way].append(cpu_ms(pid) - s0)
                client[way].append((time.process_time() - c0) * 1000)
        for way in WAYS:
            print(way, "server CPU ms mean", round(statistics.mean(server[way]), 2),
                  "client CPU ms mean", round(statistics.mean(client[way]), 2))
    cluster.drop_database("bindtest")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cluster", required=True, help="the cluster of store_scale.py --pg --keep")
    p.add_argument("--rounds", type=int, default=60)
    asyncio.run(main(p.parse_args()))
