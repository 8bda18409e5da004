"""The database away under a live call, on the fake Asterisk and the real SQLite store. The
failure is real: another connection holds SQLite's write lock (BEGIN IMMEDIATE), so every
write of the service fails with "database is locked" once its busy timeout (made short
here) runs out, as a statement fails while PostgreSQL is away. The call goes on, its writes
wait in memory and land once the lock is gone; the loop never crashes; the log says it once
each way. (tests/e2e/test_postgres_outage.py: the same with PostgreSQL stopped under a real
Asterisk.)"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from contextlib import contextmanager

from ivr.app import running
from ivr.service import Dialer
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of, until

TALKING = "919000081"


@contextmanager
def write_lock(path):
    """Another connection holding the database's write lock (its readers go on: WAL)."""
    con = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield
        con.execute("ROLLBACK")
    finally:
        con.close()


async def start(service, config):
    await service.store.execute("PRAGMA busy_timeout = 100")    # fail fast while locked
    schedule = schedule_of(service)
    women = await enrol(schedule, [TALKING])
    dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
    stop = asyncio.Event()
    task = asyncio.create_task(dialer.run(stop, drain_seconds=5))
    return dialer, stop, task, women[TALKING]


async def answered_row(service, sub_id) -> dict:
    async def up():
        return bool((await attempts(service.store)).get(sub_id, {}).get("answered_at"))
    await until(up)
    return (await attempts(service.store))[sub_id]


async def test_a_call_ending_while_the_database_is_away_is_recorded_when_it_returns(
        peer, tmp_path, sounds, caplog):
    caplog.set_level(logging.INFO)
    peer.hold_calls()                                   # she stays on until we let her go
    config = config_for(peer, tmp_path, sounds)
    async with running(config, agi_port=0) as service:
        dialer, stop, task, sub = await start(service, config)
        row = await answered_row(service, sub)
        watch = dialer.loop.database
        with write_lock(config.database):
            peer.release_calls()                        # her call ends while it is locked

            async def tried_twice():                    # its record, then again
                return watch.down_since is not None and watch.failures >= 2
            await until(tried_twice)
            live = (await attempts(service.store))[sub]
            assert live["outcome"] is None and live["heard_seconds"] is None
            assert not task.done()
        away = [r for r in caplog.records if "is unreachable" in r.getMessage()]

        async def recorded():
            return (await attempts(service.store))[sub]["outcome"] is not None
        await until(recorded)
        stop.set()
        await asyncio.wait_for(task, 10)
        rows = await attempts(service.store)           # one attempt per woman, or it raises
        delivery = next(d for d in await schedule_of(service).deliveries_of(sub)
                        if d.id == row["delivery_id"])
    assert rows[sub]["id"] == row["id"] and rows[sub]["outcome"] == "answered"
    assert rows[sub]["heard_seconds"] is not None and rows[sub]["acquired_by"] is None
    assert delivery.attempts == 1 and delivery.status.value == "delivered"
    assert peer.actions["originate"] == 1
    assert watch.up and len(away) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is unreachable" in m for m in messages) == 1, messages
    assert sum("is back after" in m for m in messages) == 1, messages
    assert not any("call task failed" in m or "not released" in m for m in messages), messages


async def test_a_late_lease_of_ours_is_renewed_before_the_loop_reaps(peer, tmp_path, sounds):
    """Her call went on while the database was away: its lease ran out and its keeper has
    not renewed it yet. The loop's next turn renews it before it reaps: the call stays ours,
    and is released once, with its real outcome."""
    peer.hold_calls()
    config = config_for(peer, tmp_path, sounds)
    async with running(config, agi_port=0) as service:
        dialer, stop, task, sub = await start(service, config)
        row = await answered_row(service, sub)
        past = time.time() - 1
        await service.store.execute("UPDATE attempts SET acquired_until = ? WHERE id = ?",
                                    (past, row["id"]))
        dialer.loop.leased[row["id"]] = past            # its keeper is late
        turned = dialer.loop.loop_at
        dialer.wake.set()

        async def turn_done():
            return dialer.loop.loop_at != turned and dialer.loop.leased[row["id"]] > past
        await until(turn_done)
        live = (await attempts(service.store))[sub]
        assert live["outcome"] is None and live["acquired_until"] > time.time()
        peer.release_calls()

        async def released():
            return (await attempts(service.store))[sub]["outcome"] is not None
        await until(released)
        stop.set()
        await asyncio.wait_for(task, 10)
        rows = await attempts(service.store)
    assert rows[sub]["outcome"] == "answered" and rows[sub]["id"] == row["id"]
    assert peer.actions["originate"] == 1

