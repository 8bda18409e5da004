"""The store's SQL as PostgreSQL reads it: the adapters write one SQL, SQLite's (`?`
placeholders, its DDL words), and the PostgreSQL store translates each statement here.
Pure string functions, tested on their own (tests/store/test_pg_sql.py).

What changes:
- statements: `?` -> `%s` (and a literal `%` -> `%%`) outside quotes; `CROSS JOIN` (SQLite's
  way to fix the join order) -> `JOIN`; `LIKE` -> `ILIKE` (SQLite's LIKE ignores ASCII case);
  SQLite's index hint `INDEXED BY <index>` is dropped (PostgreSQL's planner chooses);
- migrations (DDL): `INTEGER PRIMARY KEY` -> an identity column, `INTEGER` -> `BIGINT`,
  `REAL` -> `DOUBLE PRECISION`; a `REFERENCES` to a table the same migration creates later
  (001's attempts <-> callback_requests) becomes an `ALTER TABLE ... ADD FOREIGN KEY` at its
  end, since PostgreSQL checks a reference when the table is created.
"""
from __future__ import annotations

import re

_WORD = re.compile(r"\b(CROSS\s+JOIN|LIKE)\b", re.IGNORECASE)
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)


def _outside_quotes(sql: str) -> list[tuple[bool, str]]:
    """The statement cut into (quoted, text) pieces: '...' strings and "..." names are
    quoted, the rest is SQL."""
    pieces, i, start = [], 0, 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"":
            if start < i:
                pieces.append((False, sql[start:i]))
            j = i + 1
            while j < len(sql):
                if sql[j] == ch:
                    if j + 1 < len(sql) and sql[j + 1] == ch:     # '' inside a string
                        j += 2
                        continue
                    break
                j += 1
            pieces.append((True, sql[i:j + 1]))
            i = start = j + 1
            continue
        i += 1
    if start < len(sql):
        pieces.append((False, sql[start:]))
    return pieces


def statement(sql: str) -> str:
    """One statement of the adapters, in PostgreSQL's words and psycopg's placeholders."""
    out = []
    for quoted, text in _outside_quotes(sql):
        if quoted:
            out.append(text.replace("%", "%%"))
            continue
        text = text.replace("%", "%%").replace("?", "%s")
        text = _INDEXED_BY.sub("", text)
        text = _WORD.sub(lambda m: "JOIN" if m.group(1).upper().startswith("CROSS")
                         else "ILIKE", text)
        out.append(text)
    return "".join(out)


def arrays(columns: tuple[str, ...], types: list[str], ordinality: bool = False) -> str:
    """The rows given as one array parameter per column, typed, as a FROM item `u`."""
    typed = ", ".join(f"?::{t}[]" for t in types)
    names = ", ".join((*columns, "ord") if ordinality else columns)
    return f"unnest({typed}){' WITH ORDINALITY' if ordinality else ''} AS u({names})"


def sequence(table: str) -> str:
    """The table's id sequence, looked up once per statement (an InitPlan): as a call in each
    row's nextval() it was looked up in the catalogue for every row (2,500 buffer hits a claim
    of 500; bench/results/postgres.md)."""
    return f"(SELECT pg_get_serial_sequence('{table}', 'id')::regclass)"


def insert_arrays(table: str, columns: tuple[str, ...], types: list[str],
                  along: str | None = None, same: tuple[str, ...] = ()) -> str:
    """One statement (the store's SQL, `?` placeholders) that inserts the rows given as one
    array per column (in that order, typed by `types`), each with a new id from the table's
    sequence, runs `along` (an UPDATE or DELETE; its parameters after the arrays) in the same
    statement, and returns the new ids in the order of the arrays' elements. `same`: columns
    whose value is the same in every row, each given once as a plain parameter (before the
    arrays, in the order of `columns`) where the others are arrays (at least one must be):
    a claim's kind, time, owner and lease are one value for its 500 rows, not 500 quoted."""
    names = ", ".join(columns)
    typed = dict(zip(columns, types, strict=True))
    each = tuple(c for c in columns if c not in same)
    once = "".join(f", ?::{typed[c]} AS {c}" for c in columns if c in same)
    return (f"WITH new AS MATERIALIZED (SELECT nextval({sequence(table)}) AS id, u.*{once} "
            f"FROM {arrays(each, [typed[c] for c in each], ordinality=True)})"
            + (f", along AS ({along})" if along else "")
            + f", inserted AS (INSERT INTO {table} (id, {names}) SELECT id, {names} FROM new) "
            "SELECT id FROM new ORDER BY ord")


def insert_ignoring(table: str, columns: tuple[str, ...], types: list[str], key: str) -> str:
    """The rows given as arrays into `table`, those whose `key` is taken left out."""
    names = ", ".join(columns)
    return (f"INSERT INTO {table} ({names}) SELECT {names} FROM {arrays(columns, types)} "
            f"ON CONFLICT ({key}) DO NOTHING")


def set_each(table: str, column: str, types: list[str]) -> str:
    """`column` of each row of `table` whose id is in the first array set to the value at
    the same place in the second."""
    return (f"UPDATE {table} SET {column} = u.value FROM "
            f"{arrays(('id', 'value'), types)} WHERE {table}.id = u.id")


_CREATE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
_ALTER = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)", re.IGNORECASE)
_REF = re.compile(r"\n(\s*)(\w+)(\s+[^\n]*?)\s+REFERENCES\s+(\w+)\s*\((\w+)\)", re.IGNORECASE)


def _types(ddl: str) -> str:
    ddl = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY\b",
                 "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", ddl, flags=re.IGNORECASE)
    ddl = re.sub(r"\bINTEGER\b", "BIGINT", ddl, flags=re.IGNORECASE)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", ddl, flags=re.IGNORECASE)


def migration(statements: list[str], existing: set[str]) -> list[str]:
    """A migration's statements (SQLite DDL, split) for PostgreSQL. `existing`: the tables
    created by earlier migrations (a reference to one of them stays inline)."""
    known = set(existing)
    out: list[str] = []
    later: list[str] = []
    for sql in statements:
        created = _CREATE.match(sql)
        if created:
            table = created.group(1)
            known.add(table)

            def defer(m: re.Match[str], table: str = table) -> str:
                target = m.group(4)
                if target in known:
                    return m.group(0)
                later.append(f"ALTER TABLE {table} ADD FOREIGN KEY ({m.group(2)}) "
                             f"REFERENCES {target}({m.group(5)})")
                return f"\n{m.group(1)}{m.group(2)}{m.group(3)}"
            sql = _REF.sub(defer, sql)
        out.append(_types(sql))
    return out + later


def created_tables(statements: list[str]) -> set[str]:
    return {m.group(1) for m in map(_CREATE.match, statements) if m}


def masked(dsn: str) -> str:
    """A connection string without its password."""
    dsn = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", dsn, flags=re.IGNORECASE)
