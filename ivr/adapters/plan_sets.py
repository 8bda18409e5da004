"""The day plan as a few set-based statements (issue 14): the women due are copied into a
temporary table with the key of their case; the pure rule (plan_deliveries, through
schedule_bulk.Planner) plans each distinct case once, and its plans go into two small
temporary tables (the case's close, plan_at and status; the deliveries it opens) that
three statements join to the women: close their latest deliveries, open the new ones,
set their plan_at and status. Nothing of a woman travels to the client but her case.

The rule still lives once (scheduler/plan.py); this only applies it to many women at a
time. Same result as schedule_bulk.apply_plans over PLAN_SELECT rows (a property test
checks it on both stores); CHUNK women per transaction, in (plan_at, id) order.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, AsyncIterator

from ivr.adapters.columns import epoch
from ivr.adapters.schedule_bulk import A_MESSAGE, DELIVERY_ROW, Planner
from ivr.adapters.store import Store
from scheduler.programme import Programme

CHUNK = 100_000            # women planned per transaction
LOCK = 0x1D14              # PostgreSQL: the advisory lock of the women's plan (+ share)

# What the plan reads of a woman and her latest delivery, and the key of her case (the
# same fields joined; '' for a NULL: no field of a case is ever the empty string)
CASE_FIELDS = ("s.slot", "s.timezone", "s.status", "s.lmp", "s.edd", "s.child_dob",
               "d.message_key", "d.status")
CASE_KEY = " || '|' || ".join(f"COALESCE({f}, '')" for f in CASE_FIELDS)

WOMEN = (
    "CREATE TEMP TABLE plan_women AS "
    f"SELECT s.id AS id, s.plan_at AS plan_at, s.slot AS slot, d.id AS latest_id, "
    f"{CASE_KEY} AS case_key, "
    "s.timezone AS timezone, s.status AS status, s.lmp AS lmp, s.edd AS edd, "
    "s.child_dob AS child_dob, d.message_key AS message_key, d.status AS d_status "
    "FROM subscribers s LEFT JOIN deliveries d ON d.id = (SELECT id FROM deliveries "
    f"WHERE subscriber_id = s.id AND {A_MESSAGE} ORDER BY id DESC LIMIT 1) "
    "WHERE s.plan_at IS NOT NULL AND s.plan_at <= ? AND (s.plan_at, s.id) > (?, ?){part} "
    "ORDER BY s.plan_at, s.id LIMIT ?")
CASES = ("SELECT case_key, MIN(slot), MIN(timezone), MIN(status), MIN(lmp), MIN(edd), "
         "MIN(child_dob), MIN(message_key), MIN(d_status) FROM plan_women GROUP BY case_key")
CLOSE = ("UPDATE deliveries SET status = c.close_status, closed_at = ?, "
         "next_attempt_at = NULL FROM plan_women w JOIN plan_cases c "
         "ON c.case_key = w.case_key WHERE deliveries.id = w.latest_id "
         "AND c.close_status IS NOT NULL")
OPEN = (f"INSERT INTO deliveries ({', '.join(DELIVERY_ROW)}) "
        "SELECT w.id, o.message_key, w.slot, o.due_at, o.status, o.next_attempt_at, "
        "o.closed_at FROM plan_women w JOIN plan_opens o ON o.case_key = w.case_key "
        "WHERE 1 = 1 ORDER BY w.plan_at, w.id, o.ord "
        "ON CONFLICT (subscriber_id, message_key) DO NOTHING")
SET = ("UPDATE subscribers SET plan_at = c.plan_at, "
       "status = COALESCE(c.new_status, subscribers.status), "
       "updated_at = CASE WHEN c.new_status IS NULL THEN subscribers.updated_at ELSE ? END "
       "FROM plan_women w JOIN plan_cases c ON c.case_key = w.case_key "
       "WHERE subscribers.id = w.id")
TABLES = ("plan_women", "plan_cases", "plan_opens")


async def plan_by_cases(store: Store, programme: Programme, now: datetime,
                        share: tuple[int, int] | None = None, chunk: int = CHUNK,
                        most: int | None = None) -> int:
    """Plan every woman of `programme` whose plan_at has come (only those whose id is k
    modulo n with `share` (k, n); the `most` earliest when given), each once; how many
    were planned."""
    part = " AND s.programme = ?"
    args: list[Any] = [programme.name]
    if share is not None:
        part, args = part + " AND s.id % ? = ?", [*args, share[1], share[0]]
    planner = Planner(programme, now)
    lock = LOCK if share is None else LOCK + 1 + share[0] * 1000 + share[1]
    done, last = 0, (float("-inf"), 0)
    while most is None or done < most:
        want = chunk if most is None else min(chunk, most - done)
        async with store.transaction():
            if not await _locked(store, lock):
                return done                 # another node plans these women now
            n, last = await _chunk(store, planner, now, part, args, last, want)
        done += n
        if n < want:
            return done
    return done


async def _locked(store: Store, lock: int) -> bool:
    """PostgreSQL: this transaction holds the plan's lock, or another node does (False):
    two nodes never plan the same women at once. SQLite: its one writer holds the file."""
    if store.dialect != "postgresql":
        return True
    return bool((await store.fetchall("SELECT pg_try_advisory_xact_lock(?)", (lock,)))[0][0])


# PostgreSQL planner settings for the chunk's reads and joins by key (_by_key)
BY_KEY = (("enable_hashjoin", "off"), ("enable_mergejoin", "off"), ("enable_seqscan", "off"),
          ("enable_bitmapscan", "off"), ("max_parallel_workers_per_gather", "0"),
          ("jit", "off"))


@asynccontextmanager
async def _by_key(store: Store) -> AsyncIterator[None]:
    """PostgreSQL, for the statements inside: read the chunk's women by walking
    subscribers_plan from `after`, and join them to deliveries / subscribers by primary key,
    one probe a woman; after them, plan as PostgreSQL likes (the temporary tables' joins by
    case). Its cost model prices
    100,000 probes above a scan of the whole table (a hash join over all deliveries, a
    merge join over the primary key of subscribers up to the chunk's last id: at 10 M
    women, 10 M rows read for 100,000 written), though the probes find their pages in
    memory; and with a share (`id % n = k`, estimated to keep 1 row in 200) it reads all
    subscribers by a parallel scan and sorts them for each chunk. JIT compiling (~0.4 s a
    chunk) buys nothing here. SET LOCAL, and the end puts back the values RESET would give:
    a caller's transaction around the plan keeps its own. SQLite: nothing."""
    if store.dialect != "postgresql":
        yield
        return
    values = ", ".join(f"('{k}', '{v}')" for k, v in BY_KEY)
    await store.execute(f"SELECT set_config(k, v, true) FROM (VALUES {values}) AS t(k, v)")
    yield                   # (no finally: after an error the transaction is lost anyway)
    names = ", ".join(f"'{k}'" for k, _ in BY_KEY)
    await store.execute("SELECT set_config(name, reset_val, true) FROM pg_settings "
                        f"WHERE name IN ({names})")


async def _chunk(store: Store, planner: Planner, now: datetime, part: str, args: list,
                 after: tuple[float, int], chunk: int) -> tuple[int, tuple[float, int]]:
    """One chunk of women after (plan_at, id) `after`, in that order (run_plans' order: the
    new deliveries get the same ids), planned and written: (how many, the last one's)."""
    at = epoch(now)
    for table in TABLES:
        await store.execute(f"DROP TABLE IF EXISTS {table}")
    async with _by_key(store):
        await store.execute(WOMEN.format(part=part), (at, after[0], after[1], *args, chunk))
    n = (await store.fetchall("SELECT COUNT(*) FROM plan_women"))[0][0]
    last = after
    if n:
        row = (await store.fetchall("SELECT plan_at, id FROM plan_women "
                                    "ORDER BY plan_at DESC, id DESC LIMIT 1"))[0]
        last = (float(row[0]), int(row[1]))
    if n:
        cases, opens = [], []
        for key, *fields in await store.fetchall(CASES):
            plan = planner.plan_row((0, fields[0], fields[1], fields[2], fields[3], fields[4],
                                     fields[5], None if fields[7] is None else 0, fields[6],
                                     fields[7])).plan
            cases.append((key, plan.close[-1] if plan.close else None, plan.plan_at,
                           plan.status))
            opens += [(key, k, *o) for k, o in enumerate(plan.open)]
        await store.execute("CREATE TEMP TABLE plan_cases (case_key TEXT PRIMARY KEY, "
                            "close_status TEXT, plan_at DOUBLE PRECISION, new_status TEXT)")
        await store.execute("CREATE TEMP TABLE plan_opens (case_key TEXT, ord INTEGER, "
                            "message_key TEXT, due_at DOUBLE PRECISION, status TEXT, "
                            "next_attempt_at DOUBLE PRECISION, closed_at DOUBLE PRECISION)")
        await store.insert_rows("plan_cases", ("case_key", "close_status", "plan_at",
                                               "new_status"), cases)
        await store.insert_rows("plan_opens", ("case_key", "ord", "message_key", "due_at",
                                               "status", "next_attempt_at", "closed_at"), opens)
        for table in TABLES:
            await store.execute(f"ANALYZE {table}")
        async with _by_key(store):
            await store.execute(CLOSE, (at,))
        await store.execute(OPEN)
        async with _by_key(store):
            await store.execute(SET, (at,))
    for table in TABLES:
        await store.execute(f"DROP TABLE IF EXISTS {table}")
    return int(n), last
