"""A private state directory per test (no configuration file) and a CliRunner bound to it,
run twice: on its own SQLite file and on a new PostgreSQL database of the private cluster
(IVR_DATABASE = its address). `pytest -k postgres` selects the PostgreSQL runs, `-k sqlite`
the others. Dates are relative to today: the commands read the real clock."""
from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main


class Database:
    """The test's database read and written directly, as another program would: the
    adapters' SQL (`?` placeholders), translated for PostgreSQL as the store does."""

    def __init__(self, address: Path | str):
        self.address = address
        self.dialect = "sqlite" if isinstance(address, Path) else "postgresql"

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


class Cli:
    def __init__(self, home: Path, database: Database):
        self.home = home
        self.database = database
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(main, list(args), input=input, catch_exceptions=False)

    def sql(self, sql: str, *params: Any) -> list[tuple]:
        return self.database.sql(sql, *params)

    @property
    def db(self) -> Path:
        """The SQLite file (the SQLite run only)."""
        assert self.database.dialect == "sqlite", "a file of the SQLite store"
        return self.home / "ivr.db"

    @property
    def key_file(self) -> Path:
        """The erasure key: beside SQLite's file, in the home with PostgreSQL."""
        if self.database.dialect == "sqlite":
            return self.home / "ivr.db.key"
        return self.home / "erasure.key"


@pytest.fixture(params=["sqlite", "postgres"])
def cli(request, tmp_path, monkeypatch) -> Cli:
    for var in ("IVR_CONFIG", "IVR_DATABASE", "IVR_PROGRAMME", "IVR_ACTOR",
                "IVR_ERASURE_KEY"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "var"
    monkeypatch.setenv("IVR_HOME", str(home))
    if request.param == "sqlite":
        return Cli(home, Database(home / "ivr.db"))
    dsn = request.getfixturevalue("pg_dsn")
    monkeypatch.setenv("IVR_DATABASE", dsn)
    return Cli(home, Database(dsn))


def dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


TODAY = date.today()
LMP = TODAY - timedelta(weeks=12)
