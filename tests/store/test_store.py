import os
import stat
import sqlite3

import psycopg
import pytest

from ivr.adapters import call_records
from ivr.adapters.store import NewAttempt, Store, StoreError, migrations, _statements
from ivr.call_tracker import CallReport, Listening
from scheduler.outcome import Outcome


async def test_open_creates_private_wal_database_with_all_tables(tmp_path):
    path = tmp_path / "state" / "ivr.db"
    async with await Store.open(path) as store:
        assert await store.schema_version() == len(migrations())
        tables = {r[0] for r in await store.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"subscribers", "deliveries", "attempts", "missed_calls",
                "callback_requests", "audit", "schema_migrations"} <= tables
        mode = (await store.fetchall("PRAGMA journal_mode"))[0][0]
        assert mode == "wal"
        await store.create_attempt(NewAttempt("919000010001", "hi", "m"), now=1.0)
        for suffix in ("", "-wal"):
            st = os.stat(str(path) + suffix)
            assert stat.S_IMODE(st.st_mode) == 0o600, suffix
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


async def test_reopen_applies_nothing_twice(database):
    path = database.address
    async with await Store.open(path) as store:
        assert await store.migrate() == []
    async with await Store.open(path) as store:
        rows = await store.fetchall("SELECT version FROM schema_migrations")
        assert [r[0] for r in rows] == list(range(1, len(migrations()) + 1))


async def test_newer_schema_than_program_is_refused(database):
    path = database.address
    async with await Store.open(path) as store:
        await store.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    with pytest.raises(StoreError, match="newer than this program"):
        await Store.open(path)


async def test_attempt_lifecycle_and_late_duplicate_ignored(database):
    async with await Store.open(database.address) as store:
        aid = await store.create_attempt(
            NewAttempt("919000010001", "mr", "mmitra-p001"), now=100.0)
        await store.attempt_started(aid, 100.5, "ivr-1", "sim")
        assert (await store.live_attempts())[0].id == aid
        await store.attempt_answered(aid, 102.0, "Local/x;1")
        report = CallReport(aid, Outcome.ANSWERED, 106.0, reason=4, cause=16,
                            cause_text="Normal Clearing",
                            listening=Listening(heard_seconds=3.5, message_seconds=7.0,
                                                heard_share=0.5, ended="hangup", keys="1",
                                                language_played="mr", plays=2))
        await call_records.record_end(store, report)
        assert await store.attempt_ended(aid, at=106.0, outcome=Outcome.ANSWERED,
                                         heard_share=report.heard_share)
        assert not await store.attempt_ended(aid, at=200.0, outcome=Outcome.FAILED)
        a = await store.attempt(aid)
        assert a.outcome is Outcome.ANSWERED and a.ended_at == 106.0
        assert a.heard_share == 0.5 and a.language_played == "mr" and a.cause == 16
        assert (a.keys, a.plays) == ("1", 2)
        assert a.trunk == "sim" and a.reason == 4
        assert await store.live_attempts() == []


async def test_one_live_subscriber_per_phone(database):
    async with await Store.open(database.address) as store:
        sql = ("INSERT INTO subscribers (phone, language, slot, programme, track, status, "
               "enrolled_at, updated_at) VALUES (?, 'hi', '09-12', 'mmitra', 'pregnancy', ?, 0, 0)")
        await store.execute(sql, ("919000010001", "active"))
        await store.execute(sql, ("919000010001", "opted_out"))
        with pytest.raises((sqlite3.IntegrityError, psycopg.errors.IntegrityError)):
            await store.execute(sql, ("919000010001", "paused"))


def test_statement_splitter_keeps_semicolons_in_strings():
    sql = "-- c\nCREATE TABLE t (a TEXT DEFAULT ';');\nINSERT INTO t VALUES ('x;y');\n"
    assert _statements(sql) == ["CREATE TABLE t (a TEXT DEFAULT ';');",
                                "INSERT INTO t VALUES ('x;y');"]
    with pytest.raises(StoreError, match="unterminated"):
        _statements("CREATE TABLE t (a")


async def test_transaction_isolates_other_tasks_and_rolls_back(tmp_path):
    import asyncio
    async with await Store.open(tmp_path / "ivr.db") as store:
        inside = asyncio.Event()
        release = asyncio.Event()

        async def failing_transaction():
            async with store.transaction():
                await store.create_attempt(NewAttempt("1001", "hi", "m"), now=1.0)
                inside.set()
                await release.wait()
                raise RuntimeError("boom")

        async def other_writer():
            await inside.wait()
            # must wait for the transaction, then land on its own: not rolled back with it
            await store.create_attempt(NewAttempt("2002", "hi", "m"), now=2.0)

        t1 = asyncio.create_task(failing_transaction())
        t2 = asyncio.create_task(other_writer())
        await inside.wait()
        await asyncio.sleep(0.05)
        assert not t2.done()                     # blocked behind the open transaction
        release.set()
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(t1, 5)
        await asyncio.wait_for(t2, 5)
        phones = [r[0] for r in await store.fetchall("SELECT phone FROM attempts")]
        assert phones == ["2002"]
