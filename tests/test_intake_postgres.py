"""The missed-call intake on PostgreSQL when the server goes away: the spool file stays until
the database takes its row, then is ingested once (a cluster of the test's own: stopping it
hurts no other test)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from ivr import missed_spool
from ivr.adapters.store import Store
from ivr.intake import prepare_spool
from scheduler.model import Subscriber
from tests.test_intake import NOW, PHONE, World, call


async def test_postgres_stopped_keeps_the_missed_call_in_the_spool(own_pg_cluster, tmp_path,
                                                                   caplog):
    dsn = own_pg_cluster.create_database("intake")
    store = await asyncio.wait_for(Store.open(dsn, key_file=tmp_path / "erasure.key"), 30)
    try:
        spool = tmp_path / "spool" / "missed"
        prepare_spool(spool)
        world = World(store, spool)
        await world.schedule.enrol(Subscriber(id=0, phone=PHONE, language="hi", slot="09-12",
                                              lmp=NOW.date() - timedelta(weeks=12)), NOW,
                                   actor="t")
        missed_spool.write(spool, call())
        own_pg_cluster.stop("fast")
        # the pool's connection is dead: the write fails at once, the file stays
        assert not await asyncio.wait_for(world.intake.ingest(spool / "1700000000.42.missed"),
                                          30)
        assert world.files() == ["1700000000.42.missed"]
        assert "stays in the spool" in caplog.text
        own_pg_cluster.restart()
        assert await asyncio.wait_for(world.intake.sweep(), 30) == 1
        assert world.files() == [] and await world.callbacks() == 1
        [row] = await world.rows()
        assert row[2] == "1700000000.42" and row[5]            # its row, handled once
    finally:
        await store.close()
