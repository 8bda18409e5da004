"""`ivr db migrate` / a newer `ivr run` on PostgreSQL while nodes of the older version run on
the database: refused, naming them, and nothing migrated; once they stopped, it migrates.
A real private PostgreSQL (the pg_dsn fixture)."""
from __future__ import annotations

import time

import pytest

from ivr.adapters.nodes import mark_stopped, write_heartbeat
from ivr.adapters.pg_store import PgStore
from ivr.adapters.store import StoreError, migrations
from ivr.nodes import NodeRow

NODES_MIGRATION = 7          # the nodes table


def beating(name: str, now: float) -> NodeRow:
    return NodeRow(name=name, host="other-host", pid=4242, owner=f"{name}@other-host:4242:1",
                   started_at=now - 60, heartbeat_at=now - 1, heartbeat_every=5.0)


async def test_migrate_postgres_refused_while_an_older_node_runs(pg_dsn):
    newest = len(migrations())
    assert newest > NODES_MIGRATION
    store = await PgStore.open(pg_dsn, migrate=False)
    try:
        assert await store.migrate(newest - 1) == list(range(1, newest))   # the older version
        await write_heartbeat(store, beating("pune-1", time.time()))
        with pytest.raises(StoreError, match=rf"at schema {newest - 1}; this version needs "
                                             rf"{newest}, but 1 node\(s\) of an older version "
                                             r"run on it: pune-1 on other-host"):
            await store.migrate()
        assert await store.schema_version() == newest - 1                # nothing migrated
        assert await mark_stopped(store, "pune-1", "pune-1@other-host:4242:1", time.time())
        assert await store.migrate() == [newest]
    finally:
        await store.close()


async def test_migrate_postgres_not_held_up_by_a_node_that_died_long_ago(pg_dsn):
    newest = len(migrations())
    store = await PgStore.open(pg_dsn, migrate=False)
    try:
        await store.migrate(newest - 1)
        await write_heartbeat(store, beating("pune-2", time.time() - 3600))   # stale
        assert await store.migrate() == [newest]
    finally:
        await store.close()
