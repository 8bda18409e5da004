"""`ivr db copy --to postgresql://...`: a SQLite install moved into an empty PostgreSQL
database, whole or not at all.

- The target must hold no row in any table (its schema_migrations aside); its schema is
  made by its own migrations (PgStore.migrate, inside the copy's transaction), and both
  sides must then be at one version.
- Every table of the SQLite file is copied, read from sqlite_master (no list kept here): a
  table the target lacks, or has with other columns, or without a one-column primary key,
  is refused before anything is written.
- One transaction on PostgreSQL (a failure leaves no row), the copied tables locked; rows go
  in batches through COPY, with their ids. When the copying role owns the tables, the
  foreign keys and the plain indexes are dropped first and made again after the rows (each
  checked once, as pg_restore does). Parents first anyway (a role that does not own them
  copies with the checks on): a cycle of references (attempts.callback_id <->
  callback_requests.attempt_id) is cut at a nullable column, written NULL and set once
  every table is in.
- Each identity sequence is set past the largest id; each table's rows are counted on both
  sides before the commit.
- The erasure key: the SQLite install's <db>.key is copied (0600) to the file PostgreSQL's
  nodes read ([ivr] erasure_key, default <home>/erasure.key), inside the transaction.

The SQL of this module that reads the source (PRAGMA, sqlite_master) runs on SQLite only;
the SQL that reads the target (information_schema, LOCK, setval) on PostgreSQL only.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from ivr.adapters.erasure import erasure_key
from ivr.adapters.pg_store import PgStore
from ivr.adapters.store import DB_ERRORS, Store
from ivr.errors import BadInput

BATCH = 5_000
MIGRATIONS = "schema_migrations"        # each side's own record of its migrations: not copied
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class CopyError(BadInput):
    """The copy is refused or failed; nothing was written to the PostgreSQL database."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: str                                  # its one-column primary key
    nullable: frozenset[str]
    references: tuple[tuple[str, str], ...]   # (column, table it references)


@dataclass(frozen=True)
class Plan:
    tables: tuple[Table, ...]                 # in the order they are copied
    deferred: dict[str, tuple[str, ...]]      # table -> columns written NULL, set at the end


@dataclass(frozen=True)
class Copied:
    counts: dict[str, tuple[int, int]]        # table -> (SQLite rows, PostgreSQL rows)
    key: str                                  # what became of the erasure key, in words


def order(tables: list[Table]) -> Plan:
    """The tables, each after those it references; a cycle is cut at the first table (by
    name) whose references not copied yet are all nullable."""
    by_name = {t.name: t for t in tables}
    done: set[str] = set()
    placed: list[Table] = []
    deferred: dict[str, tuple[str, ...]] = {}
    pending = sorted(by_name)
    while pending:
        ready = [n for n in pending
                 if all(ref in done or ref not in by_name for _, ref in by_name[n].references)]
        if not ready:
            for n in pending:
                cut = tuple(col for col, ref in by_name[n].references if ref not in done)
                if all(col in by_name[n].nullable for col in cut):
                    deferred[n] = cut
                    ready = [n]
                    break
            else:
                raise CopyError(f"cannot copy the tables {', '.join(pending)}: they reference "
                                "each other through columns that cannot be NULL")
        for n in ready:
            placed.append(by_name[n])
            done.add(n)
            pending.remove(n)
    return Plan(tuple(placed), deferred)


# ---------------------------------------------------------------------- the source (SQLite)
async def source_tables(source: Store) -> tuple[list[Table], list[str]]:
    """The tables of the SQLite file, and the problems of those it cannot copy."""
    names = [r[0] for r in await source.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    tables, problems = [], []
    for name in names:
        if name.startswith("sqlite_") or name == MIGRATIONS:
            continue                           # SQLite's own (sqlite_sequence, sqlite_stat1)
        if not _NAME.fullmatch(name):
            problems.append(f"table {name!r}: not a plain name")
            continue
        info = await source.fetchall(f"PRAGMA table_info({name})")
        keys = [r["name"] for r in info if r["pk"]]
        if len(keys) != 1:
            problems.append(f"table {name}: no one-column primary key")
            continue
        refs = await source.fetchall(f"PRAGMA foreign_key_list({name})")
        tables.append(Table(
            name, tuple(r["name"] for r in info), keys[0],
            frozenset(r["name"] for r in info if not r["notnull"] and not r["pk"]),
            tuple((r["from"], r["table"]) for r in refs)))
    return tables, problems


async def _batches(source: Store, table: Table, columns: tuple[str, ...],
                   where: str = "") -> AsyncIterator[list[tuple[Any, ...]]]:
    """The rows of `table` (its key, then those columns), BATCH at a time, in key order."""
    select = f"SELECT {_names((table.key, *columns))} FROM {table.name}"
    last = None
    while True:
        if last is None:
            rows = await source.fetchall(f"{select} {'WHERE ' + where if where else ''} "
                                         f"ORDER BY {table.key} LIMIT ?", (BATCH,))
        else:
            rows = await source.fetchall(
                f"{select} WHERE {table.key} > ? {'AND ' + where if where else ''} "
                f"ORDER BY {table.key} LIMIT ?", (last, BATCH))
        if not rows:
            return
        last = rows[-1][0]
        yield [tuple(r) for r in rows]


# ---------------------------------------------------------------------- the target (PostgreSQL)
async def _target_columns(target: PgStore) -> dict[str, dict[str, bool]]:
    """table -> column -> is an identity column, for every table of the target's schema."""
    rows = await target.fetchall(
        "SELECT table_name, column_name, is_identity FROM information_schema.columns "
        "WHERE table_schema = current_schema()")
    out: dict[str, dict[str, bool]] = {}
    for table, column, identity in rows:
        out.setdefault(table, {})[column] = identity == "YES"
    return out


async def tables_with_rows(target: PgStore) -> list[str]:
    """The tables of the target that hold a row (its schema_migrations aside)."""
    names = sorted(await target.table_names())
    full = []
    for name in names:
        if name != MIGRATIONS and await target.fetchall(f'SELECT 1 FROM "{name}" LIMIT 1'):
            full.append(name)
    return full


async def open_target(dsn: str) -> PgStore:
    """The PostgreSQL database as it is (copy_database migrates it), refused when it holds
    any row."""
    target = await PgStore.open(dsn, migrate=False)
    try:
        await _refuse_rows(target)
    except BaseException:
        await target.close()
        raise
    return target


async def _refuse_rows(target: PgStore) -> None:
    full = await tables_with_rows(target)
    if full:
        raise CopyError(f"the database {target} is not empty (rows in {', '.join(full)}): "
                        "copy into a new, empty database")


async def plan_copy(source: Store, target: PgStore) -> Plan:
    """What will be copied, or CopyError with every reason it cannot be."""
    tables, problems = await source_tables(source)
    mine, theirs = await source.schema_version(), await target.schema_version()
    if mine != theirs:
        problems.append(f"the SQLite database is at schema {mine}, the PostgreSQL one at "
                        f"{theirs}: run `ivr db migrate` on the SQLite one first")
    columns = await _target_columns(target)
    for t in tables:
        there = columns.get(t.name)
        if there is None:
            problems.append(f"table {t.name}: the PostgreSQL schema has no such table")
        elif set(there) != set(t.columns):
            problems.append(f"table {t.name}: other columns in PostgreSQL (SQLite only: "
                            f"{sorted(set(t.columns) - set(there))}, PostgreSQL only: "
                            f"{sorted(set(there) - set(t.columns))})")
    if problems:
        raise CopyError("cannot copy: " + "; ".join(problems))
    return order(tables)


async def copy_database(source: Store, target: PgStore, *, key_to: Path) -> Copied:
    """Migrate `target` (opened by open_target) and copy every table of `source` into it,
    in one transaction, and the erasure key to `key_to`."""
    key = await _key_to_copy(source, key_to)
    try:
        async with target.transaction():
            await target.migrate()
            plan = await plan_copy(source, target)
            await target.execute(f"LOCK TABLE {', '.join(t.name for t in plan.tables)} "
                                 "IN EXCLUSIVE MODE")
            await _refuse_rows(target)
            rebuild = await _drop_checks(target) if await _owns_every_table(target) else []
            await _copy_rows(source, target, plan)
            for sql in rebuild:
                await target.execute(sql)
            await _set_sequences(target, plan)
            counts = {t.name: (await _count(source, t.name), await _count(target, t.name))
                      for t in plan.tables}
            wrong = [n for n, (a, b) in counts.items() if a != b]
            if wrong:
                raise CopyError("the row counts differ after the copy: " + ", ".join(
                    f"{n} {counts[n][0]} in SQLite, {counts[n][1]} in PostgreSQL"
                    for n in wrong))
            said = _write_key(source, key, key_to)
    except DB_ERRORS as e:
        raise CopyError(f"the copy into {target} failed, nothing was written: "
                        f"{_first_line(e)}") from None
    return Copied(counts, said)


async def _copy_rows(source: Store, target: PgStore, plan: Plan) -> None:
    """Every row through COPY, parents first; a cut column NULL, then set by UPDATE."""
    for t in plan.tables:
        nulls = [t.columns.index(c) for c in plan.deferred.get(t.name, ())]
        async for rows in _batches(source, t, t.columns):
            await target.copy_in(t.name, t.columns, [
                tuple(None if i in nulls else v for i, v in enumerate(r[1:])) for r in rows]
                if nulls else [r[1:] for r in rows])
    for t in plan.tables:
        for column in plan.deferred.get(t.name, ()):
            async for rows in _batches(source, t, (column,), f"{column} IS NOT NULL"):
                await target.executemany(f"UPDATE {t.name} SET {column} = ? WHERE {t.key} = ?",
                                         [(r[1], r[0]) for r in rows])


async def _owns_every_table(target: PgStore) -> bool:
    return not await target.fetchall(
        "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() "
        "AND tableowner <> current_user")


async def _drop_checks(target: PgStore) -> list[str]:
    """Drop the foreign keys and the indexes no constraint needs (as pg_restore does: one
    build of each index and one check of each reference once the rows are in, not one per
    row: about twice as fast); the statements that make them again, indexes first."""
    keys = await target.fetchall(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace "
        "ORDER BY conname")
    indexes = await target.fetchall(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE t.relnamespace = current_schema()::regnamespace AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1")
    for table, name, _ in keys:
        await target.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        await target.execute(f"DROP INDEX {name}")
    return [sql for _, sql in indexes] + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {sql}'
                                          for table, name, sql in keys]


async def _set_sequences(target: PgStore, plan: Plan) -> None:
    """Each identity sequence past the largest id copied."""
    columns = await _target_columns(target)
    for t in plan.tables:
        for column, is_identity in columns[t.name].items():
            if is_identity:
                await target.fetchall(
                    f"SELECT setval(pg_get_serial_sequence(?, ?), "
                    f"COALESCE(MAX({column}), 0) + 1, false) FROM {t.name}", (t.name, column))


async def _count(store: Store, table: str) -> int:
    return int((await store.fetchall(f"SELECT COUNT(*) FROM {table}"))[0][0])


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


# ---------------------------------------------------------------------- the erasure key
async def _key_to_copy(source: Store, key_to: Path) -> bytes | None:
    """The source's erasure key when it must be written to key_to; None when there is none
    or key_to holds it already. Refused: key_to holds another key (its opt-outs would no
    longer match), or erased numbers without their key (erasure_key says so)."""
    key = await erasure_key(source)
    if key is None or source.key_file == key_to:
        return None
    try:
        there = key_to.read_bytes()
    except FileNotFoundError:
        return key
    except OSError as e:
        raise CopyError(f"cannot read {key_to}: {e}") from None
    if there != key:
        raise CopyError(f"{key_to} holds another erasure key than {source.key_file}: move it "
                        "away (or set [ivr] erasure_key to another file) and copy again")
    return None


def _write_key(source: Store, key: bytes | None, key_to: Path) -> str:
    if key is None:
        if source.key_file is not None and source.key_file.exists():
            return f"the erasure key is in {key_to} already"
        return "no erasure key (no woman was erased): nothing to copy"
    try:
        key_to.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(key_to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
    except OSError as e:
        raise CopyError(f"cannot write the erasure key to {key_to}: {e}: copy "
                        f"{source.key_file} there yourself (mode 0600) and copy "
                        "again") from None
    return (f"copied the erasure key {source.key_file} to {key_to} (0600): every node "
            "needs this same file at the path [ivr] erasure_key names")
