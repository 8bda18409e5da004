"""Administration of a PostgreSQL cluster: databases and login roles. The private cluster of
the tests and benchmarks (ivr/sandbox/postgres.py) makes its databases through these; the
store's own statements are elsewhere (pg_store.py). Each statement runs alone, outside a
transaction (CREATE DATABASE cannot run inside one), on a connection of its own."""
from __future__ import annotations

import psycopg
from psycopg import sql

from ivr.adapters.pg_sql import masked
from ivr.errors import Unavailable

CONNECT_SECONDS = 30


def _run(dsn: str, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_SECONDS) as conn:
            conn.execute(statement)
    except psycopg.Error as e:
        raise Unavailable(f"PostgreSQL at {masked(dsn)}: {str(e).strip()[:300]}") from e


def create_database(dsn: str, name: str, template: str | None = None) -> None:
    """A new database `name`, empty or a copy of `template` (nobody may be connected to it)."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    _run(dsn, statement)


def drop_database(dsn: str, name: str) -> None:
    _run(dsn, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def create_login_role(dsn: str, name: str, password: str) -> None:
    """A role that logs in with `password`."""
    _run(dsn, sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                  sql.Literal(password)))
