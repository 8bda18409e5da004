"""Many rows at once on both stores: Store.insert_new (new rows, their ids in row order, one
more statement with them; SQLite's new_ids + INSERT + the statement, PostgreSQL's one
statement, pg_sql.insert_arrays: the claim writes its attempts and its deliveries' UPDATE
with it), Store.insert_ignoring and Store.set_each (the day plan's writes; on PostgreSQL
10,000 rows per statement, pg_rows.BATCH)."""
from __future__ import annotations

import asyncio

import pytest

from ivr.adapters import pg_rows

from ivr.adapters.pg_store import PgStore
from ivr.adapters.store import Store

COLUMNS = ("at", "actor", "subscriber_id", "action", "detail")


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        s = await Store.open(tmp_path / "ivr.db")
    else:
        s = await asyncio.wait_for(PgStore.open(request.getfixturevalue("pg_dsn")), 30)
    yield s
    await s.close()


async def audit(store) -> list[tuple]:
    rows = await store.fetchall(f"SELECT id, {', '.join(COLUMNS)} FROM audit ORDER BY id")
    return [tuple(r) for r in rows]


async def test_insert_new_gives_each_row_its_new_id_in_row_order(store):
    first = [(1.5, "a", 7, "x", None), (2.0, "b", None, "y", '{"k": 1}')]
    async with store.transaction():
        ids = await asyncio.wait_for(store.insert_new("audit", COLUMNS, first), 10)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert await audit(store) == [(i, *r) for i, r in zip(ids, first, strict=True)]
    # later rows get new ids past the first ones, still matched to their rows
    more = [(3.25, f"w{k}", k, "z", None) for k in range(300)]
    async with store.transaction():
        later = await asyncio.wait_for(store.insert_new("audit", COLUMNS, more), 10)
    assert min(later) > max(ids) and len(set(later)) == 300
    got = {r[0]: r[1:] for r in await audit(store)}
    assert [got[i] for i in later] == more


async def test_insert_new_runs_its_along_statement_with_the_rows(store):
    async with store.transaction():
        old = await store.insert_new("audit", COLUMNS, [(1.0, "old", 1, "a", None),
                                                        (1.0, "old", 2, "a", None),
                                                        (1.0, "old", 3, "a", None)])
    taken, param = store.ids_in(old[:2])
    async with store.transaction():
        new = await asyncio.wait_for(store.insert_new(
            "audit", COLUMNS, [(5.0, "new", 9, "b", None)],
            along=(f"UPDATE audit SET action = ?, detail = ? WHERE id IN {taken}",
                   ("moved", "d", param))), 10)
    rows = await audit(store)
    assert rows == [(old[0], 1.0, "old", 1, "moved", "d"), (old[1], 1.0, "old", 2, "moved", "d"),
                    (old[2], 1.0, "old", 3, "a", None), (new[0], 5.0, "new", 9, "b", None)]


async def test_insert_new_sends_a_column_of_one_value_once_and_keeps_every_row(store,
                                                                              monkeypatch):
    sent: list[str] = []
    fetchall = store.fetchall

    async def seen(sql, params=()):
        sent.append(sql)
        return await fetchall(sql, params)
    monkeypatch.setattr(store, "fetchall", seen)
    cases = [
        # `at`, `actor`, `action` one value in all rows; NULL in every row too
        [(7.5, "node-1", k, "claim", None) for k in range(200)],
        # one row: every column but one sent once
        [(8.0, "one", 3, "x", '{"a": 1}')],
        # every row the same
        [(9.0, "w", 4, "c", "d")] * 3,
    ]
    for rows in cases:
        async with store.transaction():
            ids = await asyncio.wait_for(store.insert_new("audit", COLUMNS, rows), 10)
        got = {r[0]: r[1:] for r in await audit(store)}
        assert [got[i] for i in ids] == [tuple(float(v) if k == 0 else v
                                               for k, v in enumerate(r)) for r in rows]
    # the same only when equal and of one type (1, 1.0 and True are equal in Python)
    assert pg_rows._same([(1, 1.0), (True, True), ("a", "a"), (None, None)],
                         ("x", "y", "z", "w")) == ("y", "z", "w")
    assert pg_rows._same([(2, 2), ("a", "a")], ("x", "y")) == ("x",)    # one array kept
    if store.dialect == "postgresql":
        first = next(sql for sql in sent if "WITH new" in sql)
        assert ("?::double precision AS at, ?::text AS actor, ?::text AS action, ?::text AS "
                "detail FROM unnest(?::bigint[]) WITH ORDINALITY AS u(subscriber_id, ord)"
                in first)


async def test_insert_new_rolls_back_with_its_transaction(store):
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await store.insert_new("audit", COLUMNS, [(1.0, "gone", None, "a", None)],
                                   along=("UPDATE audit SET action = 'x'", ()))
            raise RuntimeError("after the insert")
    assert await audit(store) == []


async def test_insert_ignoring_leaves_out_the_rows_whose_key_is_taken(store, monkeypatch):
    monkeypatch.setattr(pg_rows, "BATCH", 3)      # several statements on PostgreSQL
    await store.execute("INSERT INTO subscribers (id, phone, language, slot, timezone, "
                        "programme, track, status, enrolled_at, updated_at) VALUES "
                        "(1, '+919900000001', 'hi', '09-12', 'Asia/Kolkata', 'mmitra', "
                        "'pregnancy', 'active', 0, 0)")
    columns = ("subscriber_id", "message_key", "slot", "due_at", "status", "next_attempt_at",
               "closed_at")
    first = [(1, "m1", "09-12", 10.0, "pending", 10.0, None)]
    await store.insert_ignoring("deliveries", columns, first, "subscriber_id, message_key")
    more = [(1, f"m{k}", "09-12", 20.0 + k, "pending", None, 5.5) for k in range(1, 8)]
    async with store.transaction():
        await asyncio.wait_for(store.insert_ignoring("deliveries", columns, more,
                                                     "subscriber_id, message_key"), 10)
    rows = await store.fetchall(f"SELECT {', '.join(columns)} FROM deliveries ORDER BY id")
    assert [tuple(r) for r in rows] == first + more[1:]      # m1 was taken: kept as it was


async def test_set_each_sets_each_rows_own_value(store, monkeypatch):
    monkeypatch.setattr(pg_rows, "BATCH", 4)
    async with store.transaction():
        ids = await store.insert_new("audit", COLUMNS,
                                     [(1.0, "w", k, "a", None) for k in range(10)])
    values = [(i, None if k == 3 else 100 + k % 3) for k, i in enumerate(ids[:9])]
    async with store.transaction():
        await asyncio.wait_for(store.set_each("audit", "subscriber_id", values), 10)
    got = {r[0]: r[1] for r in await store.fetchall("SELECT id, subscriber_id FROM audit")}
    assert got == {**dict(values), ids[9]: 9}


async def test_fetch_grouped_counts_as_fetchall_and_sorts_are_back_after(store):
    async with store.transaction():
        await store.insert_new("audit", COLUMNS, [(float(k), "w", k % 3, "a", None)
                                                  for k in range(30)])
    sql = ("SELECT subscriber_id AS grp, CAST(FLOOR(at / 10) AS INTEGER) AS tens, COUNT(*) AS n "
           "FROM audit GROUP BY grp, tens")
    grouped = await asyncio.wait_for(store.fetch_grouped(sql), 10)
    assert sorted(map(tuple, grouped)) == sorted(map(tuple, await store.fetchall(sql)))
    assert sum(r[2] for r in grouped) == 30 and len(grouped) == 9
    if store.dialect == "postgresql":      # no sort inside it, sorts again after it
        [[inside]] = await store.fetch_grouped("SELECT current_setting('enable_sort')")
        assert inside == "off"
        async with store.transaction():    # inside a transaction: back on for what follows
            await store.fetch_grouped("SELECT 1")
            assert (await store.fetchall("SELECT current_setting('enable_sort')"))[0][0] == "on"
        assert (await store.fetchall("SELECT current_setting('enable_sort')"))[0][0] == "on"
