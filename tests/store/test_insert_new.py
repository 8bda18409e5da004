"""Store.insert_new (new rows, their ids in row order, one more statement with them) on
both stores: SQLite's new_ids + INSERT + the statement, PostgreSQL's one statement
(pg_sql.insert_arrays). The claim writes its attempts and its deliveries' UPDATE with it."""
from __future__ import annotations

import asyncio

import pytest

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


async def test_insert_new_rolls_back_with_its_transaction(store):
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await store.insert_new("audit", COLUMNS, [(1.0, "gone", None, "a", None)],
                                   along=("UPDATE audit SET action = 'x'", ()))
            raise RuntimeError("after the insert")
    assert await audit(store) == []
