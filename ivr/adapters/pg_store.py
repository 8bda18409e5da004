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
"""
from __future__ import annotations

import logging
import re
import time
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import psycopg
from psycopg import AsyncClientCursor, AsyncConnection
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ivr.adapters import pg_sql
from ivr.adapters.pg_sql import masked
from ivr.adapters.store import Store, StoreError, _statements, migrations

log = logging.getLogger(__name__)

# the connection of the transaction open in this task (statements inside it join it)
_CONNECTION: ContextVar[AsyncConnection[Any] | None] = ContextVar("ivr_pg_connection",
                                                                  default=None)
_MIGRATE_LOCK = 727_001             # pg_advisory_lock key: one node migrates at a time
OPEN_TIMEOUT = 15.0                 # seconds to get a first connection


class Row(tuple):
    """A row read by position, by column name, and as dict(row), like sqlite3.Row."""
    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    names = [c.name for c in cursor.description or ()]
    index = {n: i for i, n in enumerate(names)}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._index = index
        return row
    return make


class _Number(Loader):
    """numeric (SUM, AVG of integers) as int when whole, else float, like SQLite."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if text in ("NaN", "Infinity", "-Infinity"):
            return float(text)
        return int(text) if "." not in text else float(text)


async def _configure(conn: AsyncConnection[Any]) -> None:
    conn.adapters.register_loader("numeric", _Number)


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
    for_update = " FOR UPDATE"

    def __init__(self, pool: AsyncConnectionPool, dsn: str):  # noqa: D107
        self._pool = pool
        self.dsn = dsn
        self.path = None                              # type: ignore[assignment]
        self.migration_backup = None
        self.key_file: Path | None = None             # ivr.adapters.erasure: [ivr] erasure_key

    @staticmethod
    def skip_locked(tables: str) -> str:
        return f" FOR UPDATE OF {tables} SKIP LOCKED"

    @classmethod
    async def open(cls, path: Path | str, *, group_writable: bool = False,
                   read_only: bool = False, key_file: Path | None = None,
                   pool_size: int = 10) -> "PgStore":
        dsn = str(path)
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as e:
            raise StoreError(f"not a PostgreSQL connection string ({masked(dsn)}): {e}") \
                from None
        pool: AsyncConnectionPool = AsyncConnectionPool(
            dsn, min_size=1, max_size=max(1, pool_size), open=False, configure=_configure,
            kwargs={"autocommit": True, "row_factory": _row_factory,
                    "cursor_factory": AsyncClientCursor},
            name="ivr", timeout=OPEN_TIMEOUT)
        try:
            await pool.open(wait=True, timeout=OPEN_TIMEOUT)
        except (PoolTimeout, psycopg.Error, OSError) as e:
            await pool.close()
            raise StoreError(f"cannot connect to the database {masked(dsn)}: "
                             f"{_reason(e, dsn)}") from None
        store = cls(pool, dsn)
        store.key_file = key_file
        try:
            if read_only:
                await store._check_version()
            else:
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
    async def _tables(self) -> set[str]:
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
        current = await self.schema_version() if "schema_migrations" in await self._tables() \
            else 0
        needed = len(migrations())
        if current != needed:
            raise StoreError(f"database {self} at schema {current}, this version needs "
                             f"{needed}: " + ("upgrade the program" if current > needed
                                              else "run `ivr db migrate` or start `ivr run`"))

    async def migrate(self, target: int | None = None) -> list[int]:
        """The migrations not applied yet, each in one transaction (PostgreSQL's DDL is
        transactional: a failed migration leaves nothing half-done). One node at a time
        (an advisory lock); no file backup here: take `pg_dump` before an upgrade."""
        applied: list[int] = []
        async with self._pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATE_LOCK,))
            token = _CONNECTION.set(conn)
            try:
                current = await self.schema_version()
                known = migrations()
                if current > len(known):
                    raise StoreError(f"{self} has schema version {current}, newer than this "
                                     f"program knows ({len(known)}): upgrade the program")
                tables = await self._tables()
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
            finally:
                _CONNECTION.reset(token)
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATE_LOCK,))
        return applied

    async def new_ids(self, table: str, n: int) -> list[int]:
        rows = await self.fetchall(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
            "FROM generate_series(1, ?)", (n,))
        return [r[0] for r in rows]

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

    async def insert_rows(self, table: str, columns: tuple[str, ...], rows: Any) -> None:
        """COPY ... FROM STDIN: an order of magnitude faster than INSERTs for many rows."""
        if not all(re.fullmatch(r"[a-z_]+", n) for n in (table, *columns)):
            raise StoreError(f"not a plain table or column name: {table} {columns}")
        conn = _CONNECTION.get()
        if conn is not None:
            await _copy(conn, table, columns, rows)
            return
        async with self._connection() as conn, conn.transaction():
            await _copy(conn, table, columns, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        conn = _CONNECTION.get()
        if conn is not None:
            return await (await conn.execute(_sql(sql), params)).fetchall()
        async with self._connection() as conn:
            return await (await conn.execute(_sql(sql), params)).fetchall()


async def _copy(conn: AsyncConnection[Any], table: str, columns: tuple[str, ...],
                rows: Any) -> None:
    async with conn.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            await copy.write_row(row)


def _reason(e: BaseException, dsn: str) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return masked(text.replace(dsn, masked(dsn)))

