"""Online backups, restores, migrations that back up first, and read-only commands that
never migrate."""
from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from pathlib import Path

import aiosqlite
import pytest
from click.testing import CliRunner

from cli import main
from ivr.adapters.backup import BackupError, backup, inspect
from ivr.adapters.store import NewAttempt, Store, migrations
from ivr.run_lock import RunLock

NEWEST = len(migrations())
BATCH = 10              # the writer's rows per transaction: a consistent copy has a multiple


async def old_database(path: Path, version: int) -> None:
    """A database at an older schema, with one woman's test call in it."""
    db = await aiosqlite.connect(path, isolation_level=None)
    store = Store(db, path)
    try:
        await db.execute("PRAGMA journal_mode = WAL")
        await store.migrate(target=version)
        await store.execute("INSERT INTO attempts (phone, language, message_key, created_at) "
                            "VALUES ('919000010001', 'hi', 'm', 1.0)")
    finally:
        await db.close()


async def writer(store: Store, stop: asyncio.Event, started: asyncio.Event) -> int:
    batches = 0
    while not stop.is_set():
        async with store.transaction():
            for _ in range(BATCH):
                await store.create_attempt(NewAttempt("919000010001", "hi", "m"), now=1.0)
        batches += 1
        started.set()
        await asyncio.sleep(0)
    return batches


def count(path: Path) -> int:
    db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    finally:
        db.close()


async def test_backups_taken_while_the_service_writes_are_consistent(tmp_path):
    path = tmp_path / "ivr.db"
    async with await Store.open(path) as store:
        stop, started = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(writer(store, stop, started))
        seen = []
        try:
            async with asyncio.timeout(60):
                await started.wait()
                while len(seen) < 5:
                    target = tmp_path / f"copy{len(seen)}.db"
                    info = await asyncio.to_thread(backup, path, target, NEWEST)
                    assert info.version == NEWEST and info.attempts == count(target)
                    seen.append(info.attempts)
        finally:
            stop.set()
            batches = await asyncio.wait_for(task, 30)
    assert all(n % BATCH == 0 for n in seen), seen         # never half a transaction
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0, seen   # written meanwhile
    assert batches * BATCH > seen[-1]
    for i in range(5):
        copy = tmp_path / f"copy{i}.db"
        assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
        assert not Path(f"{copy}-wal").exists()              # one self-contained file
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def ivr(home: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), env={"IVR_HOME": str(home)}, input=input)


def test_ivr_db_backup_writes_a_checked_private_file_and_never_overwrites(tmp_path):
    asyncio.run(old_database(tmp_path / "ivr.db", NEWEST))
    target = tmp_path / "b.db"
    result = ivr(tmp_path, "db", "backup", str(target))
    assert result.exit_code == 0, result.output
    assert f"to {target}: schema {NEWEST}, 0 women, 1 calls, integrity ok" in result.stderr
    assert inspect(target, NEWEST).attempts == 1
    before = target.read_bytes()
    again = ivr(tmp_path, "db", "backup", str(target))
    assert again.exit_code == 1 and "exists: choose another name, or --force" in again.stderr
    assert target.read_bytes() == before
    assert ivr(tmp_path, "db", "backup", str(target), "--force").exit_code == 0
    gone = ivr(tmp_path / "nowhere", "db", "backup", str(tmp_path / "c.db"))
    assert gone.exit_code == 1 and "no database at" in gone.stderr
    assert not (tmp_path / "c.db").exists()


def database_with(path: Path, calls: int) -> None:
    async def go():
        async with await Store.open(path) as store:
            for _ in range(calls):
                await store.create_attempt(NewAttempt("919000010001", "hi", "m"), now=1.0)
    asyncio.run(go())


def test_ivr_db_restore_replaces_the_database_and_keeps_the_old_one(tmp_path):
    home, saved = tmp_path / "home", tmp_path / "saved.db"
    database_with(home / "ivr.db", 2)
    assert ivr(home, "db", "backup", str(saved)).exit_code == 0
    database_with(home / "ivr.db", 3)                          # 5 calls now
    result = ivr(home, "db", "restore", str(saved))           # off a terminal: no --yes
    assert result.exit_code == 2 and "add --yes to confirm" in result.stderr
    assert count(home / "ivr.db") == 5
    result = ivr(home, "db", "restore", str(saved), "--yes")
    assert result.exit_code == 0, result.output
    assert count(home / "ivr.db") == 2
    [kept] = [p for p in home.iterdir() if ".before-restore-" in p.name]
    assert count(kept) == 5 and f"kept in {kept}" in result.stderr
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home / "ivr.db").st_mode) == 0o600    # the file stays ours
    database_with(home / "ivr.db", 1)                          # and it opens, migrated, WAL
    assert count(home / "ivr.db") == 3


def test_ivr_db_restore_refuses_while_ivr_run_runs_and_bad_files(tmp_path):
    home, saved = tmp_path / "home", tmp_path / "saved.db"
    database_with(home / "ivr.db", 2)
    database_with(saved, 7)
    before = (home / "ivr.db").read_bytes()
    with RunLock(home / "ivr.db"):                    # the service holds its database
        result = ivr(home, "db", "restore", str(saved), "--yes")
    assert result.exit_code == 1 and "another `ivr run` is already running" in result.stderr
    assert "stop it first" in result.stderr
    not_ours = tmp_path / "other.db"
    sqlite3.connect(not_ours).execute("CREATE TABLE t (x)").connection.close()
    text = tmp_path / "notes.db"
    text.write_text("not a database at all, " * 100)
    newer = tmp_path / "newer.db"
    database_with(newer, 1)
    with sqlite3.connect(newer) as db:
        db.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    for bad, why in [(not_ours, "is not an IVR database (it lacks the tables"),
                     (text, "is not an IVR database"),
                     (newer, f"at schema 99, newer than this program knows ({NEWEST})")]:
        result = ivr(home, "db", "restore", str(bad), "--yes")
        assert result.exit_code == 1 and why in result.stderr, (bad, result.output)
    assert (home / "ivr.db").read_bytes() == before
    assert not [p for p in home.iterdir() if ".before-restore-" in p.name]


def test_inspect_refuses_a_damaged_database(tmp_path):
    path = tmp_path / "ivr.db"
    database_with(path, 200)
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'attempts'").fetchone()[0]
    data = bytearray(path.read_bytes())
    start = (root - 1) * size
    data[start + 8: start + 200] = b"\xff" * 192        # the attempts table's cell pointers
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="integrity check|malformed"):
        inspect(path, NEWEST)


async def test_a_migration_backs_up_a_database_that_has_a_schema_first(tmp_path, caplog):
    path = tmp_path / "ivr.db"
    await old_database(path, NEWEST - 1)
    with caplog.at_level(logging.WARNING, logger="ivr.adapters.store"):
        async with await Store.open(path) as store:
            assert await store.schema_version() == NEWEST
            copy = store.migration_backup
    assert copy is not None and copy.parent == tmp_path
    assert copy.name.startswith(f"ivr.db.schema{NEWEST - 1}-") and copy.name.endswith(".backup")
    info = inspect(copy, NEWEST)
    assert (info.version, info.attempts) == (NEWEST - 1, 1)
    assert f"backed up first to {copy}" in caplog.text
    # a new database (no schema yet) and a current one need no backup
    async with await Store.open(tmp_path / "new.db") as store:
        assert store.migration_backup is None
    async with await Store.open(path) as store:
        assert store.migration_backup is None
    assert len(list(tmp_path.glob("*.backup"))) == 1


READ_ONLY = [("status",), ("report",), ("calls",), ("women", "list"), ("women", "show", "1"),
             ("schedule", "preview")]


def test_read_only_commands_never_migrate_an_old_database(tmp_path):
    path = tmp_path / "ivr.db"
    asyncio.run(old_database(path, NEWEST - 1))
    before = path.read_bytes()
    for args in READ_ONLY:
        result = ivr(tmp_path, *args)
        assert result.exit_code == 1, (args, result.output)
        assert (f"database at schema {NEWEST - 1}, this version needs {NEWEST}: run `ivr db "
                "migrate` or start `ivr run`") in result.stderr, (args, result.output)
        assert path.read_bytes() == before, args                 # byte for byte
    assert not list(tmp_path.glob("*.backup"))
    migrated = ivr(tmp_path, "db", "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert f"schema {NEWEST - 1} -> {NEWEST}" in migrated.stderr
    [copy] = tmp_path.glob("*.backup")
    assert f"backed up to {copy} first" in migrated.stderr
    assert ivr(tmp_path, "report", "--json").exit_code == 0
    assert "nothing to do" in ivr(tmp_path, "db", "migrate").stderr


def test_read_only_commands_do_not_create_a_database(tmp_path):
    result = ivr(tmp_path, "calls")
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not (tmp_path / "ivr.db").exists()


def test_ivr_db_migrate_refuses_while_ivr_run_runs(tmp_path):
    path = tmp_path / "ivr.db"
    asyncio.run(old_database(path, NEWEST - 1))
    with RunLock(path):
        result = ivr(tmp_path, "db", "migrate")
    assert result.exit_code == 1 and "stop it first" in result.stderr
    assert inspect(path, NEWEST).version == NEWEST - 1


def test_restore_over_a_damaged_database_keeps_its_files_as_they_were(tmp_path):
    home, saved = tmp_path / "home", tmp_path / "saved.db"
    database_with(saved, 4)
    database_with(home / "ivr.db", 200)
    path = home / "ivr.db"
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'attempts'").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(root - 1) * size + 8: (root - 1) * size + 200] = b"\xff" * 192
    path.write_bytes(bytes(data))
    result = ivr(home, "db", "restore", str(saved), "--yes")
    assert result.exit_code == 0, result.output
    [kept] = [p for p in home.iterdir() if ".before-restore-" in p.name]
    assert kept.read_bytes() == bytes(data)
    assert inspect(path, NEWEST).attempts == 4
