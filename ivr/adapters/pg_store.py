"""The PostgreSQL store (psycopg 3, a connection pool): the same statements as the SQLite
store (ivr/adapters/store.py), translated by ivr/adapters/pg_sql.py, so every adapter, rule
and report is written once.

Several nodes (`ivr run` processes, each with its own Asterisk) share one PostgreSQL:
- claims lock what they take with FOR UPDATE ... SKIP LOCKED (Store.skip_locked), and a
  unique index keeps one live call per woman whatever the nodes do (migration 006);
- a transaction that reads a row to change it locks it (Store.for_update);
- new attempt ids come from the table's identity sequence (Store.new_ids).

The connection string is a libpq one (`postgresql://user@host/db` or `host=... dbname=...`);
its password, if any, never reaches a log or an error message (masked()).

The database may go away and come back (a restart, a failover): the pool reconnects by
itself (psycopg_pool), and a statement meanwhile fails with psycopg.OperationalError, or
StoreError when no connection can be had within OPEN_TIMEOUT: both are UNAVAILABLE_ERRORS,
which the calling service waits out (ivr/database_watch.py). Two settings make the return
quick and clean: a short `reconnect_timeout` (the pool's own back-off doubles without end:
a slot given up is grown again, from a 1 s delay, at the next request), and `Freshness`
(ivr/adapters/pg_connection.py), which pings, once, each connection that was open when a
statement found the database gone.
"""
from __future__ import annotations

import logging
import re
import time
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Sequence

import psycopg
from psycopg import AsyncClientCursor, AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ivr.adapters import pg_rows, pg_sql
from ivr.adapters.nodes import read_nodes
from ivr.adapters.pg_connection import (OPEN_TIMEOUT, RECONNECT_TIMEOUT, Freshness, reason,
                                       row_factory, try_connect)
from ivr.adapters.pg_sql import masked
from ivr.adapters.store import Store, StoreError, _statements, migrations
from ivr.nodes import STALE_BEATS, running
from ivr.owner import owner_state

log = logging.getLogger(__name__)

# the connection of the transaction open in this task (statements inside it join it)
_CONNECTION: ContextVar[AsyncConnection[Any] | None] = ContextVar("ivr_pg_connection",
                                                                  default=None)
_MIGRATE_LOCK = 727_001             # pg_advisory_lock key: one node migrates at a time


class _Done:
    """What execute() returns: the rows it changed."""
    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int):
        self.rowcount = rowcount


@lru_cache(maxsize=4096)
def _sql(sql: str) -> str:
    return pg_sql.statement(sql)


class PgStore(Store):
    """Open with `await PgStore.open(dsn)` (or Store.open(dsn))."""
    dialect = "postgresql"

    @property
    def for_update(self) -> str:                  # type: ignore[override]
        return " FOR UPDATE" if self.locks_rows else ""

    def __init__(self, pool: AsyncConnectionPool, dsn: str,
                 freshness: Freshness | None = None):  # noqa: D107
        self._pool = pool
        self._freshness = freshness or Freshness()
        self.dsn = dsn
        self.path = None                              # type: ignore[assignment]
        self.migration_backup = None
        self.key_file: Path | None = None             # ivr.adapters.erasure: [ivr] erasure_key
        self.column_types: dict[str, dict[str, str]] = {}   # pg_rows: each table's, read once

    def skip_locked(self, tables: str) -> str:
        if not self.locks_rows:
            return ""
        return f" FOR UPDATE OF {tables} SKIP LOCKED"

    def live_call_taken(self, error: BaseException) -> bool:
        """Store.live_call_taken: a unique violation of attempts_one_live, outside any
        transaction of the caller's (inside one, the whole of it is to be made again)."""
        return (isinstance(error, psycopg.errors.UniqueViolation)
                and error.diag.constraint_name == "attempts_one_live"
                and _CONNECTION.get() is None)

    @classmethod
    async def open(cls, path: Path | str, *, group_writable: bool = False,
                   read_only: bool = False, key_file: Path | None = None,
                   pool_size: int = 10, migrate: bool = True) -> "PgStore":
        """migrate=False: open it as it is (`ivr db copy` looks at it first)."""
        dsn = str(path)
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as e:
            raise StoreError(f"not a PostgreSQL connection string ({masked(dsn)}): "
                             f"{reason(e, dsn)}") from None
        await try_connect(dsn)
        freshness = Freshness()
        pool: AsyncConnectionPool = AsyncConnectionPool(
            dsn, min_size=1, max_size=max(1, pool_size), open=False,
            configure=freshness.configure, check=freshness.check,
            kwargs={"autocommit": True, "row_factory": row_factory,
                    "cursor_factory": AsyncClientCursor},
            name="ivr", timeout=OPEN_TIMEOUT, reconnect_timeout=RECONNECT_TIMEOUT)
        try:
            await pool.open(wait=True, timeout=OPEN_TIMEOUT)
        except (PoolTimeout, psycopg.Error, OSError) as e:
            await pool.close()
            raise StoreError(f"cannot connect to the database {masked(dsn)}: "
                             f"{reason(e, dsn)}") from None
        store = cls(pool, dsn, freshness)
        store.key_file = key_file
        try:
            if read_only:
                await store._check_version()
            elif migrate:
                await store.migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    def __str__(self) -> str:
        return masked(self.dsn)

    # ------------------------------------------------------------------ schema
    async def table_names(self) -> set[str]:
        rows = await self.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema()")
        return {r[0] for r in rows}

    async def schema_version(self) -> int:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
        return int((await self.fetchall(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))[0][0])

    async def _check_version(self) -> None:
        current = (await self.schema_version()
                   if "schema_migrations" in await self.table_names() else 0)
        needed = len(migrations())
        if current != needed:
            raise StoreError(f"database {self} at schema {current}, this version needs "
                             f"{needed}: " + ("upgrade the program" if current > needed
                                              else "run `ivr db migrate` or start `ivr run`"))

    async def migrate(self, target: int | None = None) -> list[int]:
        """The migrations not applied yet, each in one transaction (PostgreSQL's DDL is
        transactional: a failed migration leaves nothing half-done); inside an open
        transaction they join it (`ivr db copy`: schema and rows, whole or not at all). One
        node at a time (an advisory lock); no file backup here: take `pg_dump` before an
        upgrade."""
        joined = _CONNECTION.get()
        if joined is not None:
            await joined.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            return await self._migrate(joined, target)
        async with self._pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATE_LOCK,))
            token = _CONNECTION.set(conn)
            try:
                return await self._migrate(conn, target)
            finally:
                _CONNECTION.reset(token)
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATE_LOCK,))

    async def _migrate(self, conn: AsyncConnection[Any], target: int | None) -> list[int]:
        applied: list[int] = []
        current = await self.schema_version()
        known = migrations()
        if current > len(known):
            raise StoreError(f"{self} has schema version {current}, newer than this "
                             f"program knows ({len(known)}): upgrade the program")
        tables = await self.table_names()
        if current < len(known[:target]) and "nodes" in tables:
            await self._refuse_under_running_nodes(current, len(known[:target]))
        for m in known[current:target]:
            statements = pg_sql.migration(_statements(m.sql), tables)
            try:
                async with conn.transaction():
                    for sql in statements:
                        await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (%s, %s, %s)", (m.version, m.name, time.time()))
            except psycopg.Error as e:
                raise StoreError(f"migration {m.version:03d}_{m.name} failed: "
                                 f"{e}") from None
            tables |= pg_sql.created_tables(statements)
            applied.append(m.version)
        return applied

    async def _refuse_under_running_nodes(self, current: int, newest: int) -> None:
        """A node that runs now runs an older version (this one would have migrated when it
        started): its SQL may not fit the new schema. Refused until every node stopped."""
        now = time.time()
        nodes = running(await read_nodes(self), now,
                        lambda owner: owner_state(owner) == "dead")
        if nodes:
            said = ", ".join(f"{r.name} on {r.host} (heartbeat {now - r.heartbeat_at:.0f} s ago)"
                             for r in nodes)
            wait = max(r.heartbeat_at + STALE_BEATS * r.heartbeat_every - now for r in nodes)
            raise StoreError(
                f"{self} is at schema {current}; this version needs {newest}, but "
                f"{len(nodes)} node(s) of an older version run on it: {said}. Stop every node "
                "(then start them with this version) before migrating; a node that died "
                f"counts as stopped {max(wait, 0):.0f} s after its last heartbeat")

    async def new_ids(self, table: str, n: int) -> list[int]:
        rows = await self.fetchall(
            f"SELECT nextval({pg_sql.sequence(table)}) "
            "FROM generate_series(1, ?)", (n,))
        return [r[0] for r in rows]

    async def insert_new(self, table: str, columns: tuple[str, ...], rows: list[tuple],
                         along: tuple[str, tuple] | None = None) -> list[int]:
        return await pg_rows.insert_new(self, table, columns, rows, along)

    async def insert_ignoring(self, table: str, columns: tuple[str, ...], rows: list[tuple],
                              key: str) -> None:
        await pg_rows.insert_ignoring(self, table, columns, rows, key)

    async def set_each(self, table: str, column: str, values: list[tuple[int, Any]]) -> None:
        await pg_rows.set_each(self, table, column, values)

    def ids_in(self, ids: Sequence[int]) -> tuple[str, Any]:
        return "(SELECT unnest(?::bigint[]))", list(ids)

    # ------------------------------------------------------------------ statements, transactions
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["PgStore"]:
        """One connection of the pool, BEGIN ... COMMIT (ROLLBACK on any error or
        cancellation); statements of this task inside it join it, nested use too."""
        if _CONNECTION.get() is not None:
            yield self
            return
        async with self._connection() as conn:
            token = _CONNECTION.set(conn)
            try:
                async with conn.transaction():
                    yield self
            finally:
                _CONNECTION.reset(token)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as e:
            raise StoreError(f"the database {self} does not answer: {e}") from None
        except psycopg.OperationalError:
            self._freshness.lost()        # the pool's other connections may be dead too
            raise

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        conn = _CONNECTION.get()
        if conn is not None:
            cur = await conn.execute(_sql(sql), params)
            return _Done(cur.rowcount)
        async with self._connection() as conn:
            cur = await conn.execute(_sql(sql), params)
            return _Done(cur.rowcount)

    async def executemany(self, sql: str, rows: Any) -> None:
        conn = _CONNECTION.get()
        if conn is not None:
            async with conn.cursor() as cur:
                await cur.executemany(_sql(sql), rows)
            return
        async with self._connection() as conn, conn.cursor() as cur:
            await cur.executemany(_sql(sql), rows)

    async def copy_in(self, table: str, columns: Sequence[str],
                      rows: Iterable[Sequence[Any]]) -> None:
        """rows into table through COPY ... FROM STDIN (the fast way to load many rows);
        inside a transaction it joins it."""
        sql = f"""COPY {table} ({', '.join(f'"{c}"' for c in columns)}) FROM STDIN"""
        conn = _CONNECTION.get()
        if conn is not None:
            await _copy(conn, sql, rows)
            return
        async with self._connection() as conn, conn.transaction():
            await _copy(conn, sql, rows)

    async def insert_rows(self, table: str, columns: tuple[str, ...], rows: Any) -> None:
        """Many new rows (Store.insert_rows): COPY ... FROM STDIN, an order of magnitude
        faster than INSERTs."""
        if not all(re.fullmatch(r"[a-z_]+", n) for n in (table, *columns)):
            raise StoreError(f"not a plain table or column name: {table} {columns}")
        await self.copy_in(table, columns, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        conn = _CONNECTION.get()
        if conn is not None:
            return await (await conn.execute(_sql(sql), params)).fetchall()
        async with self._connection() as conn:
            return await (await conn.execute(_sql(sql), params)).fetchall()

    async def fetch_grouped(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Store.fetch_grouped. The planner takes each computed value's groups from its
        column's (a weekday from created_at: one per call), so it expects as many groups as
        rows and sorts them all on disk (`ivr report`'s calls: 4.2 s over 1 M calls); sorts
        off for this statement, it counts the 1,853 groups in a hash table (1.3 s)."""
        async with self.transaction():
            await self.execute("SET LOCAL enable_sort = off")
            rows = await self.fetchall(sql, params)
            await self.execute("RESET enable_sort")     # inside another transaction
            return rows


async def _copy(conn: AsyncConnection[Any], sql: str, rows: Iterable[Sequence[Any]]) -> None:
    async with conn.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            await copy.write_row(row)
