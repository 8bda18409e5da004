"""The connections of the PostgreSQL store (ivr/adapters/pg_store.py): rows read like
sqlite3.Row, numeric read as SQLite gives it, the pool's freshness check after a lost
database, and the first connection, whose failure is told in libpq's words with any
password masked."""
from __future__ import annotations

import asyncio
import re
import weakref
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool

from ivr.adapters.pg_sql import masked
from ivr.adapters.store import StoreError

OPEN_TIMEOUT = 15.0                 # seconds to get a first connection
RECONNECT_TIMEOUT = 5.0             # the pool gives a lost connection up after this; regrown


class Row(tuple):
    """A row read by position, by column name, and as dict(row), like sqlite3.Row. Each
    statement's rows are of a subclass that holds the names (row_class): a row is a bare
    tuple, with no dict of its own to make."""
    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=1024)
def row_class(names: tuple[str, ...]) -> type[Row]:
    """The Row subclass of the statements whose columns are `names`, made once."""
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def row_factory(cursor: Any) -> Any:
    return row_class(tuple(c.name for c in cursor.description or ()))


class Number(Loader):
    """numeric (SUM, AVG of integers) as int when whole, else float, like SQLite."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if text in ("NaN", "Infinity", "-Infinity"):
            return float(text)
        return int(text) if "." not in text else float(text)


class Freshness:
    """The pool's `configure` and `check`. When a statement finds the database gone, every
    connection opened before may be dead too (a restarted server closed them all, and an
    idle connection does not know it): each is pinged once at its next checkout, and
    replaced by the pool if the ping fails. Otherwise nothing is pinged: a checkout costs
    no round trip."""

    def __init__(self) -> None:
        self.generation = 0
        self._of: weakref.WeakKeyDictionary[AsyncConnection[Any], int] = \
            weakref.WeakKeyDictionary()

    def lost(self) -> None:
        self.generation += 1

    async def configure(self, conn: AsyncConnection[Any]) -> None:
        conn.adapters.register_loader("numeric", Number)
        self._of[conn] = self.generation

    async def check(self, conn: AsyncConnection[Any]) -> None:
        if self._of.get(conn) != self.generation:
            await AsyncConnectionPool.check_connection(conn)
            self._of[conn] = self.generation


async def try_connect(dsn: str) -> None:
    """One connection first: a wrong host, socket, database, user or password is told at
    once, in libpq's words (the pool would retry it until OPEN_TIMEOUT and say only that)."""
    try:
        async with asyncio.timeout(OPEN_TIMEOUT):
            conn = await psycopg.AsyncConnection.connect(dsn, connect_timeout=int(OPEN_TIMEOUT))
    except (psycopg.Error, OSError) as e:
        raise StoreError(f"cannot connect to the database {masked(dsn)}: "
                         f"{reason(e, dsn)}") from None
    except TimeoutError:
        raise StoreError(f"cannot connect to the database {masked(dsn)}: no answer in "
                         f"{OPEN_TIMEOUT:.0f} s") from None
    await conn.close()


_NOISE = re.compile(r"^(connection failed|connection is bad):\s*|FATAL:\s*")


def reason(e: BaseException, dsn: str) -> str:
    """The first line of libpq's message, without its prefixes, the password masked."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    text = masked(text.replace(dsn, masked(dsn)))
    try:
        password = psycopg.conninfo.conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return re.sub(r"\s+", " ", _NOISE.sub("", text)).strip()
