"""The test's database read and written directly, SQLite or PostgreSQL (the `database`
fixture of tests/conftest.py makes one of each per test)."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


class Database:
    """The test's database read and written directly, as another program would: the
    adapters' SQL (`?` placeholders), translated for PostgreSQL as the store does."""

    def __init__(self, home: Path, address: Path | str):
        self.home = home                  # the state directory (IVR_HOME)
        self.address = address            # what Store.open takes: the file, or the DSN
        self.dialect = "sqlite" if isinstance(address, Path) else "postgresql"

    def env(self) -> dict[str, str]:
        """The environment a command needs to use this database."""
        env = {"IVR_HOME": str(self.home)}
        if self.dialect == "postgresql":
            env["IVR_DATABASE"] = str(self.address)
        return env

    @property
    def key_file(self) -> Path:
        """The erasure key: beside SQLite's file, in the home with PostgreSQL."""
        if isinstance(self.address, Path):
            return self.address.with_name(self.address.name + ".key")
        return self.home / "erasure.key"

    def connect(self, *, wait: bool = True) -> Any:
        """A DB-API connection, a transaction opened by the first statement."""
        if self.dialect == "sqlite":
            return sqlite3.connect(self.address, timeout=5 if wait else 0)
        import psycopg
        return psycopg.connect(str(self.address), cursor_factory=psycopg.ClientCursor)

    def run(self, con: Any, sql: str, params: tuple = ()) -> list[tuple]:
        """One statement on `con` (from connect()); its rows, if it returns any."""
        if self.dialect == "postgresql":
            from ivr.adapters.pg_sql import statement
            sql = statement(sql)
        cur = con.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def sql(self, sql: str, *params: Any) -> list[tuple]:
        """One statement in its own transaction, committed; its rows."""
        con = self.connect()
        try:
            rows = self.run(con, sql, params)
            con.commit()
            return rows
        finally:
            con.close()

    def exists(self) -> bool:
        """A command has created (and migrated) the store."""
        if self.dialect == "sqlite":
            return self.address.exists()
        return bool(self.sql("SELECT 1 FROM information_schema.tables WHERE table_name = "
                             "'schema_migrations' AND table_schema = current_schema()"))

    def texts(self) -> list[tuple[str, str, str]]:
        """(table, column, value) of every non-NULL value of every table, as text."""
        tables = self.sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if self.dialect == "sqlite"
            else "SELECT table_name FROM information_schema.tables "
                 "WHERE table_schema = current_schema()")
        out = []
        con = self.connect()
        try:
            for (table,) in tables:
                cur = con.execute(f"SELECT * FROM {table}")
                cols = [d[0] for d in cur.description]
                for row in cur.fetchall():
                    out += [(table, c, str(v)) for c, v in zip(cols, row, strict=True)
                            if v is not None]
        finally:
            con.close()
        return out
