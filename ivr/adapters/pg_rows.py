"""Many rows in one statement on PostgreSQL (PgStore's insert_new, insert_ignoring and
set_each): the rows go as one array parameter per column, typed by the table's columns
(read once per table), and the statements are pg_sql's. One round trip per BATCH rows,
where SQLite's store runs a statement per row (executemany) or per distinct value."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.adapters import pg_sql

if TYPE_CHECKING:
    from ivr.adapters.pg_store import PgStore

BATCH = 10_000          # rows per statement


async def column_types(store: "PgStore", table: str) -> dict[str, str]:
    """Each column's type, read once per table and store."""
    if table not in store.column_types:
        rows = await store.fetchall(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped", (table,))
        store.column_types[table] = {r[0]: r[1] for r in rows}
    return store.column_types[table]


def _arrays(rows: list[tuple], width: int) -> list[list[Any]]:
    return [[r[k] for r in rows] for k in range(width)]


def _same(values: list[tuple], columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns (`values`: one tuple per column) whose value is one and the same in every
    row, of one type (1 and True differ), all but one at most: one array gives the rows."""
    same = tuple(c for c, v in zip(columns, values, strict=True)
                 if v.count(v[0]) == len(v) and len(set(map(type, v))) == 1)
    return same[:len(columns) - 1] if len(same) == len(columns) else same


async def insert_new(store: "PgStore", table: str, columns: tuple[str, ...], rows: list[tuple],
                     along: tuple[str, tuple] | None = None) -> list[int]:
    """Store.insert_new in one statement (pg_sql.insert_arrays): the new ids, the rows and
    `along` in one round trip; a column of one value in every row is sent once."""
    types = await column_types(store, table)
    values = list(zip(*rows, strict=True)) or [() for _ in columns]    # one tuple a column
    same = _same(values, columns) if rows else ()
    sql = pg_sql.insert_arrays(table, columns, [types[c] for c in columns],
                               along[0] if along else None, same)
    once = [v[0] for c, v in zip(columns, values, strict=True) if c in same]
    each = [list(v) for c, v in zip(columns, values, strict=True) if c not in same]
    params = (*once, *each, *(along[1] if along else ()))
    return [r[0] for r in await store.fetchall(sql, params)]


async def insert_ignoring(store: "PgStore", table: str, columns: tuple[str, ...],
                          rows: list[tuple], key: str) -> None:
    """Store.insert_ignoring, BATCH rows per statement (pg_sql.insert_ignoring)."""
    types = await column_types(store, table)
    sql = pg_sql.insert_ignoring(table, columns, [types[c] for c in columns], key)
    for i in range(0, len(rows), BATCH):
        await store.execute(sql, _arrays(rows[i:i + BATCH], len(columns)))


async def set_each(store: "PgStore", table: str, column: str,
                   values: list[tuple[int, Any]]) -> None:
    """Store.set_each, BATCH rows per statement (pg_sql.set_each)."""
    types = await column_types(store, table)
    sql = pg_sql.set_each(table, column, [types["id"], types[column]])
    for i in range(0, len(values), BATCH):
        await store.execute(sql, _arrays(values[i:i + BATCH], 2))
