"""The SQLite store (aiosqlite): numbered migrations, WAL, busy timeout, a private file.

The database holds phone numbers and pregnancy data: the file (and its -wal/-shm, which
SQLite creates with the same mode) is 0600 in a 0700 directory.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite
import psycopg

from ivr.adapters import backup as backups
from ivr.adapters.attempt_rows import AttemptRows
from ivr.adapters.attempt_rows import CallRecord as CallRecord  # imported from here too
from ivr.adapters.attempt_rows import NewAttempt as NewAttempt  # imported from here too
from ivr.errors import Unavailable

log = logging.getLogger(__name__)

# another process (an import, a report) may hold the write lock for seconds
BUSY_TIMEOUT_MS = 30_000

# True inside Store.transaction() for the task that opened it: its statements join the
# transaction; every other task's statements wait for it (one connection is shared).
_IN_TRANSACTION: ContextVar[bool] = ContextVar("ivr_store_in_transaction", default=False)


class StoreError(Unavailable):
    """The database cannot be opened or migrated, or does not answer; the message says why."""


# what a statement of either store may raise (StoreError: no connection to be had)
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error, StoreError)


# what a statement raises when the database cannot take it now, but may later: a dead
# connection, a server gone, no connection to be had, SQLite locked past its busy timeout
# or a full disk (ivr/database_watch.py waits for it); never a statement's own error
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.OperationalError, psycopg.OperationalError, psycopg.InterfaceError, StoreError)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The numbered migrations shipped in ivr/migrations, in order (NNN_name.sql)."""
    found = []
    for entry in resources.files("ivr.migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name.partition("_")
        if not number.isdigit():
            raise StoreError(f"migration file {name!r} must be named NNN_name.sql")
        found.append(Migration(int(number), rest[:-4], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def _private_file(path: Path, group_writable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o770 if group_writable else 0o700)
    mode = 0o660 if group_writable else 0o600
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    os.close(fd)
    os.chmod(path, mode)


class Store(AttemptRows):
    """The SQLite store: one connection (aiosqlite runs it in its own thread). Open with
    `await Store.open(path)`; a PostgreSQL connection string opens the PostgreSQL store
    (ivr/adapters/pg_store.py, a subclass that runs the same statements).

    What differs between the two is said by: `dialect`; `for_update` (appended to a read of
    a row the transaction then changes); `skip_locked(tables)` (appended to a claim's read);
    `new_ids(table, n)`; `insert_new`, `insert_ignoring`, `set_each` (many rows, one
    statement per batch on PostgreSQL); `ids_in(ids)`; `fetch_grouped` (an aggregate of few
    groups: no sort on PostgreSQL). On SQLite the one writer makes the first two empty.
    `locks_rows` False: reads neither lock the rows they take nor skip those another
    transaction holds (a preview, rolled back: `ivr schedule preview` on PostgreSQL must
    neither miss a woman the service holds for a moment nor hold up the service's claims)."""
    dialect = "sqlite"
    for_update = ""
    locks_rows = True

    def __init__(self, db: aiosqlite.Connection, path: Path, key_file: Path | None = None):
        self._db = db
        self.path = path
        self._lock = asyncio.Lock()
        self.migration_backup: Path | None = None    # taken before the last migration
        # the erasure key file (ivr.adapters.erasure): <database>.key unless configured
        self.key_file: Path | None = key_file or path.with_name(path.name + ".key")

    @classmethod
    async def open(cls, path: Path | str, *, group_writable: bool = False,
                   read_only: bool = False, key_file: Path | None = None) -> "Store":
        """Open (creating and migrating) the database. group_writable: 0660 in a 0770
        directory, for a deployment where Asterisk's fallback script (same group) writes it.
        read_only: open it as it is (sqlite mode=ro: never created, migrated nor written),
        refused when it needs a migration."""
        if str(path).startswith(("postgresql://", "postgres://")):
            from ivr.adapters.pg_store import PgStore
            return await PgStore.open(path, read_only=read_only, key_file=key_file)
        path = Path(path)
        if read_only:
            return await cls._open_read_only(path, key_file)
        try:
            _private_file(path, group_writable)
            db = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the database {path}: {e}") from None
        db.row_factory = sqlite3.Row
        store = cls(db, path, key_file)
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = await (await db.execute("PRAGMA journal_mode = WAL")).fetchone()
            if mode[0].lower() != "wal":
                raise StoreError(f"{path}: SQLite refused WAL mode (got {mode[0]})")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await store.migrate()
        except BaseException:
            await db.close()
            raise
        return store

    @classmethod
    async def _open_read_only(cls, path: Path, key_file: Path | None = None) -> "Store":
        if not path.is_file():
            raise StoreError(f"no database at {path} yet (`ivr run`, `ivr enrol` or "
                             "`ivr db migrate` create it)")
        try:
            db = await aiosqlite.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True,
                                         isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the database {path}: {e}") from None
        db.row_factory = sqlite3.Row
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            rows = await (await db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            )).fetchall()
            current = (await (await db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations")).fetchone())[0] \
                if rows else 0
            needed = len(migrations())
            if current > needed:
                raise StoreError(f"{path} has schema version {current}, newer than this "
                                 f"program knows ({needed}): upgrade the program")
            if current < needed:
                raise StoreError(f"database at schema {current}, this version needs {needed}: "
                                 "run `ivr db migrate` or start `ivr run`")
        except sqlite3.Error as e:
            await db.close()
            raise StoreError(f"cannot read the database {path}: {e}") from None
        except BaseException:
            await db.close()
            raise
        return cls(db, path, key_file)

    async def close(self) -> None:
        await self._db.close()

    def __str__(self) -> str:
        return str(self.path)

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ------------------------------------------------------------------ schema
    async def schema_version(self) -> int:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
        row = await (await self._db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations")).fetchone()
        return row[0]

    async def migrate(self, target: int | None = None) -> list[int]:
        """Apply the migrations not applied yet (up to `target`), each in its own
        transaction; a database that has a schema already is backed up beside itself first
        (<name>.schema<N>-<time>.backup)."""
        current = await self.schema_version()
        known = migrations()
        if current > len(known):
            raise StoreError(f"{self.path} has schema version {current}, newer than this "
                             f"program knows ({len(known)}): upgrade the program")
        pending = known[current:target]
        if pending and current > 0:
            copy = backups.beside(self.path, f"schema{current}")
            try:
                await asyncio.to_thread(backups.backup, self.path, copy, len(known))
            except backups.BackupError as e:
                raise StoreError(f"no migration without a backup first: {e}") from None
            self.migration_backup = copy
            log.warning("database %s at schema %d, migrating to %d: backed up first to %s",
                        self.path, current, pending[-1].version, copy)
        applied = []
        for m in pending:
            # executescript would COMMIT first; run statement by statement inside BEGIN.
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                for statement in _statements(m.sql):
                    await self._db.execute(statement)
                await self._db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) "
                    "VALUES (?, ?, ?)", (m.version, m.name, time.time()))
                await self._db.execute("COMMIT")
            except sqlite3.Error as e:
                await self._db.execute("ROLLBACK")
                raise StoreError(f"migration {m.version:03d}_{m.name} failed: {e}") from None
            applied.append(m.version)
        return applied

    def skip_locked(self, tables: str) -> str:
        return ""

    def live_call_taken(self, error: BaseException) -> bool:
        """Whether `error` is a claim's new live call refused by attempts_one_live (006)
        because another node's claim gave her one first: never here (one writer at a time)."""
        return False

    async def new_ids(self, table: str, n: int) -> list[int]:
        """n ids for new rows of `table` (call inside a transaction)."""
        top = (await self.fetchall(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))[0][0]
        return list(range(top + 1, top + 1 + n))

    async def insert_new(self, table: str, columns: tuple[str, ...], rows: list[tuple],
                         along: tuple[str, tuple] | None = None) -> list[int]:
        """Many new rows of `table` (call inside a transaction) and their new ids, in the order
        of `rows`; `along`: one more statement (sql, params) that goes with them, run after
        them here, in the same statement on PostgreSQL (one round trip for all)."""
        ids = await self.new_ids(table, len(rows))
        await self.insert_rows(table, ("id", *columns),
                               [(i, *r) for i, r in zip(ids, rows, strict=True)])
        if along is not None:
            await self.execute(*along)
        return ids

    async def insert_ignoring(self, table: str, columns: tuple[str, ...], rows: list[tuple],
                              key: str) -> None:
        """Many new rows of `table`, those whose unique `key` (its columns, e.g.
        "subscriber_id, message_key") is taken left out: a statement per row here, one per
        10,000 rows on PostgreSQL."""
        marks = ", ".join("?" * len(columns))
        await self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
                               f"ON CONFLICT ({key}) DO NOTHING", rows)

    async def set_each(self, table: str, column: str, values: list[tuple[int, object]]) -> None:
        """`column` of each row (id, value) of `table` set to its value: a statement per
        distinct value and 10,000 ids here, one per 10,000 rows on PostgreSQL."""
        ids: dict[object, list[int]] = {}
        for i, value in values:
            ids.setdefault(value, []).append(i)
        for value, same in ids.items():
            for k in range(0, len(same), 10_000):
                taken, param = self.ids_in(same[k:k + 10_000])
                await self.execute(f"UPDATE {table} SET {column} = ? WHERE id IN {taken}",
                                   (value, param))

    def ids_in(self, ids) -> tuple[str, object]:
        """`col IN <sql>` for a list of ids of any length: the SQL and its one parameter."""
        return "(SELECT value FROM json_each(?))", json.dumps(list(ids))

    # ------------------------------------------------------------------ statements, transactions
    @asynccontextmanager
    async def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error or cancellation). Statements of
        other tasks wait until it ends, so nothing foreign slips into it; nested use joins
        the open transaction. Create no tasks inside it."""
        if _IN_TRANSACTION.get():
            yield self
            return
        async with self._lock:
            token = _IN_TRANSACTION.set(True)
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    await asyncio.shield(self._db.execute("ROLLBACK"))
                    raise
                await self._db.execute("COMMIT")
            finally:
                _IN_TRANSACTION.reset(token)

    async def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        if _IN_TRANSACTION.get():
            return await self._db.execute(sql, params)
        async with self._lock:
            return await self._db.execute(sql, params)

    async def executemany(self, sql: str, rows) -> None:
        if _IN_TRANSACTION.get():
            await self._db.executemany(sql, rows)
            return
        async with self._lock:
            await self._db.executemany(sql, rows)

    async def insert_rows(self, table: str, columns: tuple[str, ...], rows) -> None:
        """Many new rows into one table, the fastest way the database has (PostgreSQL:
        COPY); no ON CONFLICT: a duplicate key fails the whole."""
        marks = ", ".join("?" * len(columns))
        await self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               rows)

    async def fetchall(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        if _IN_TRANSACTION.get():
            return await (await self._db.execute(sql, params)).fetchall()
        async with self._lock:
            return await (await self._db.execute(sql, params)).fetchall()

    async def fetch_grouped(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """An aggregate whose groups are few though the planner cannot tell (groups of
        computed values, e.g. a call's weekday and heard band): fetchall here; PostgreSQL
        counts them in a hash table instead of sorting every row (PgStore)."""
        return await self.fetchall(sql, params)


class _RollBack(Exception):
    pass


async def in_rolled_back_transaction(store: Store, work):
    """What `work` (a coroutine) returns, with every change it made rolled back: a plan
    previewed on the live database leaves nothing behind."""
    result = None
    try:
        async with store.transaction():
            result = await work
            raise _RollBack
    except _RollBack:
        pass
    return result


async def open_store(config, *, read_only: bool = False) -> Store:
    """The configured database (ivr.config.Config); read_only: see Store.open."""
    return await Store.open(config.store_address,
                            group_writable=config.database_group_writable,
                            read_only=read_only, key_file=config.erasure_key)


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about strings)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise StoreError(f"unterminated SQL statement in a migration: {buf.strip()[:60]!r}")
    return out
